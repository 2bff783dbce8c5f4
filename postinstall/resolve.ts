import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AoManifest, BinaryEntry } from './manifest.js';

/**
 * Finding the platform package the way Node (and Yarn PnP, which patches
 * require) resolves it from @aoagents/ao, so hoisting, pnpm's symlinks and
 * PnP's unplugged folders all work without knowing their layouts.
 */
export interface FoundPackage {
  dir: string;
  binary: string;
  /** The package's own version, read only when someone needs it. */
  version(): string | undefined;
}

export function findPlatformPackage(req: NodeJS.Require, entry: BinaryEntry): FoundPackage | undefined {
  let pkgJson: string;
  try {
    pkgJson = req.resolve(`${entry.package}/package.json`);
  } catch {
    return undefined;
  }
  const dir = dirname(pkgJson);
  const binary = join(dir, ...entry.path.split('/'));
  if (!existsSync(binary)) return undefined;
  return {
    dir,
    binary,
    version: () => {
      try {
        return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version;
      } catch {
        return undefined;
      }
    },
  };
}

/** Global installs of npm, pnpm, yarn 1 and bun, told apart from project installs by their layout. */
export function isGlobalInstall(packageDir: string): boolean {
  const p = packageDir.replace(/\\/g, '/');
  return /\/lib\/node_modules\/|\/pnpm\/global\/|\/\.bun\/install\/global\/|\/yarn\/global\//.test(p) || (process.platform === 'win32' && /\/npm\/node_modules\//i.test(p));
}

/**
 * The platform targets a project's package-lock.json lists, or undefined when
 * there is no lockfile above ao. Used only to explain a missing package (npm/cli#4828).
 */
export function lockfileTargets(packageDir: string, manifest: AoManifest): string[] | undefined {
  let dir = packageDir;
  while (true) {
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
    const lock = join(dir, 'package-lock.json');
    if (!existsSync(lock)) continue;
    try {
      const packages = Object.keys((JSON.parse(readFileSync(lock, 'utf8')) as { packages?: Record<string, unknown> }).packages ?? {});
      return Object.entries(manifest.binaries)
        .filter(([, e]) => packages.some((k) => k.endsWith(`node_modules/${e.package}`)))
        .map(([t]) => t);
    } catch {
      return undefined;
    }
  }
}
