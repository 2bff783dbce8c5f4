import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pacote from 'pacote';
import { CACHE_DIR } from '../../common/paths.js';

/**
 * Real third-party Go binaries from the public registry (esbuild's platform packages),
 * fetched once into .cache/third-party: files nobody here wrote, for format and build-info checks.
 * 0.25.9 is built with go1.23 (inline build info); 0.13.15 with go1.17 (the older pointer-based layout).
 */
export const ESBUILD = {
  current: {
    version: '0.25.9',
    packages: {
      'linux-x64': '@esbuild/linux-x64',
      'linux-arm64': '@esbuild/linux-arm64',
      'darwin-arm64': '@esbuild/darwin-arm64',
      'win32-x64': '@esbuild/win32-x64',
    },
  },
  go117: { version: '0.13.15', packages: { 'linux-x64': 'esbuild-linux-64', 'darwin-arm64': 'esbuild-darwin-arm64', 'win32-x64': 'esbuild-windows-64' } },
} as const;

export async function esbuildBinary(target: string, release: keyof typeof ESBUILD = 'current'): Promise<string> {
  const { version, packages } = ESBUILD[release];
  const name = (packages as Record<string, string>)[target];
  if (!name) throw new Error(`esbuild ${version} has no package for ${target}`);
  const dir = join(CACHE_DIR, 'third-party', `${name.replace(/^@esbuild\//, 'esbuild-')}-${version}`);
  if (!existsSync(join(dir, 'package.json'))) await pacote.extract(`${name}@${version}`, dir, { registry: 'https://registry.npmjs.org/' });
  return join(dir, target.startsWith('win32') ? 'esbuild.exe' : 'bin/esbuild');
}
