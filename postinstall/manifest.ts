/**
 * `ao-manifest.json`, written into @aoagents/ao at stage time: the hashes every
 * platform binary must match, and the desktop app's pinned artifacts. It
 * reaches users inside the main package's tarball, so npm's integrity check
 * covers it. Types only: reading it is a JSON.parse.
 */
export const MANIFEST_FILE = 'ao-manifest.json';

export interface BinaryEntry {
  package: string;
  version: string;
  os: string;
  cpu: string;
  /** Path of the executable inside the platform package, "/"-separated. */
  path: string;
  format: 'elf' | 'macho' | 'pe';
  integrity: string;
  size: number;
}

export interface AoManifest {
  schema: 1;
  name: string;
  version: string;
  /** Keyed by target id (`linux-x64`, ...). */
  binaries: Record<string, BinaryEntry>;
  /** The desktop app manifest (see installer/), when the release has one. */
  app?: unknown;
}
