import type { ExecutableFormat } from './binary-format.js';

/**
 * `ao-manifest.json`, written into @aoagents/ao at stage time: the hashes every
 * platform binary must match, and the desktop app's pinned artifacts. It
 * reaches users inside the main package's tarball, so npm's integrity check
 * covers it. Reading it is a JSON.parse.
 */
export const MANIFEST_FILE = 'ao-manifest.json';

export interface BinaryEntry {
  package: string;
  version: string;
  os: string;
  cpu: string;
  /** Path of the executable inside the platform package, "/"-separated. */
  path: string;
  format: ExecutableFormat;
  integrity: string;
  size: number;
  /**
   * Set only for a release staged with `--allow-unstamped`: the version this binary
   * reports (`dev` for an unstamped build) instead of the release version.
   */
  reportsVersion?: string;
}

export interface AoManifest {
  schema: 1;
  name: string;
  version: string;
  /** Keyed by target id (`linux-x64`, ...). */
  binaries: Record<string, BinaryEntry>;
  /** The desktop app manifest (see installer/), when the release has one. */
  app?: unknown;
  /** Present when the release was staged with `--allow-unstamped <reports>`. */
  override?: { allowUnstamped: string };
}

/** The version a platform binary must report: the release's, or what the override recorded for it. */
export function expectedReportedVersion(entry: BinaryEntry, manifest: AoManifest): string {
  return entry.reportsVersion ?? manifest.version;
}
