import { packageMetadataFields, type PackageMetadata } from '../common/release-config.js';
import type { AoManifest } from '../common/ao-manifest.js';

/**
 * What this part contributes to the main package `@aoagents/ao`: the files it
 * ships (bundled from dist/shipped) and the package.json fields that wire them.
 * The release stage composes these with the manifest; it does not know the
 * launcher's internals.
 */
export interface ShippedFile {
  /** File name under dist/shipped/. */
  from: string;
  /** Path inside the package. */
  to: string;
  executable: boolean;
}

export const MAIN_PACKAGE_FILES: ShippedFile[] = [
  { from: 'launcher.cjs', to: 'bin/ao', executable: true },
  // The rest of the launcher, which bin/ao loads by this path whenever the binary cannot take over at once.
  { from: 'launcher-full.cjs', to: 'lib/launcher-full.cjs', executable: false },
  { from: 'postinstall.cjs', to: 'lib/postinstall.cjs', executable: false },
  { from: 'fetch-platform.cjs', to: 'lib/fetch-platform.cjs', executable: false },
  { from: 'app-fetcher.cjs', to: 'lib/ao-app', executable: true },
  { from: 'ao-legacy-import.cjs', to: 'lib/ao-legacy-import', executable: true },
];

/** `metadata`: repository, homepage, bugs and license from the release config (release.json). */
export function mainPackageJson(manifest: AoManifest, metadata?: PackageMetadata): Record<string, unknown> {
  const optionalDependencies: Record<string, string> = {};
  for (const entry of Object.values(manifest.binaries).sort((a, b) => a.package.localeCompare(b.package))) {
    optionalDependencies[entry.package] = entry.version;
  }
  return {
    name: manifest.name,
    version: manifest.version,
    description: 'ao: the agent orchestrator CLI and daemon.',
    ...packageMetadataFields(metadata),
    bin: { ao: 'bin/ao', 'ao-app': 'lib/ao-app', 'ao-legacy-import': 'lib/ao-legacy-import' },
    // Optional optimisation and fallback: ao works, verified, when package managers skip it.
    scripts: { postinstall: 'node lib/postinstall.cjs' },
    engines: { node: '>=20.17' },
    optionalDependencies,
    files: [...MAIN_PACKAGE_FILES.map((f) => f.to), 'ao-manifest.json'],
  };
}
