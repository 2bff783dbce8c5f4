import { builtinModule } from '../common/builtin-module.js';
import { existsSync, readFileSync } from 'node:fs';
import { realPath } from '../common/own-path.js';
import { dirname, join, relative, sep } from 'node:path';
import type { AoManifest, BinaryEntry } from '../common/ao-manifest.js';

/**
 * Where Node's resolution looks first from @aoagents/ao: its own node_modules
 * (nested), then the node_modules holding it (hoisted, and pnpm's sibling
 * links). Two stats, where createRequire + require.resolve cost the launcher
 * a module system round trip on every call. bin/ao's usual path (launcher-entry.ts) restates these two places
 * inline: change them together.
 */
function probe(packageDir: string, name: string): string | undefined {
  const nodeModules = name.startsWith('@') ? join(packageDir, '..', '..') : join(packageDir, '..');
  for (const base of [join(packageDir, 'node_modules'), nodeModules]) {
    const pkgJson = join(base, ...name.split('/'), 'package.json');
    if (existsSync(pkgJson)) return realPath(pkgJson);
  }
  return undefined;
}

function resolved(packageDir: string, name: string): string | undefined {
  try {
    return builtinModule('node:module').createRequire(join(packageDir, 'package.json')).resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
}

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

export function findPlatformPackage(packageDir: string, entry: BinaryEntry): FoundPackage | undefined {
  const pkgJson = probe(packageDir, entry.package) ?? resolved(packageDir, entry.package);
  if (!pkgJson) return undefined;
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

/**
 * Whether `dir` lies inside a zip archive that Yarn PnP's patched fs opens (`<cache>/<name>.zip/node_modules/...`).
 * Only a zip holding node_modules: a project in a folder named like `app.zip/` is no archive.
 */
export const inYarnZip = (dir: string): boolean => Boolean(process.versions.pnp) && /\.zip[\\/]node_modules[\\/]/.test(dir);

/** A package-lock.json that records this ao: its folder, and the platform targets it lists. */
export interface NpmLockfile {
  folder: string;
  targets: string[];
}

/** A lockfile entry: npm's `packages` map in package-lock.json, keyed by install path. */
interface LockedPackage {
  version?: unknown;
  resolved?: unknown;
  integrity?: unknown;
}

/**
 * The nearest package-lock.json above ao that records ao at this very place (an npm workspace keeps it at the root),
 * or undefined. A lockfile that does not list ao's own path describes another tree (one left in a parent folder by an
 * `npm install` run there, above a pnpm project or one installed with --no-package-lock).
 */
function lockedPackages(packageDir: string): { folder: string; packages: Record<string, LockedPackage> } | undefined {
  let dir = packageDir;
  while (true) {
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
    const lock = join(dir, 'package-lock.json');
    if (!existsSync(lock)) continue;
    let packages: Record<string, LockedPackage>;
    try {
      packages = (JSON.parse(readFileSync(lock, 'utf8')) as { packages?: Record<string, LockedPackage> }).packages ?? {};
    } catch {
      return undefined;
    }
    if (!(relative(dir, packageDir).split(sep).join('/') in packages)) continue;
    return { folder: dir, packages };
  }
}

/** The lockfile recording ao and the platform targets it lists, to explain a missing package (npm/cli#4828). */
export function npmLockfile(packageDir: string, manifest: AoManifest): NpmLockfile | undefined {
  const lock = lockedPackages(packageDir);
  if (!lock) return undefined;
  const keys = Object.keys(lock.packages);
  const targets = Object.entries(manifest.binaries)
    .filter(([, e]) => keys.some((k) => k.endsWith(`node_modules/${e.package}`)))
    .map(([t]) => t);
  return { folder: lock.folder, targets };
}

/** Where the project's lockfile says this platform package's tarball is, and its integrity, as `npm ci` fetches it. */
export interface LockedTarball {
  resolved: string;
  integrity: string;
  /** The lockfile's folder, which a `file:` resolved is relative to (ao's own folder is where its script runs). */
  where: string;
}

/** The lockfile's tarball of exactly `entry`'s package and version, or undefined (no lockfile, not listed, no integrity). */
export function lockedTarball(packageDir: string, entry: BinaryEntry): LockedTarball | undefined {
  const lock = lockedPackages(packageDir);
  if (!lock) return undefined;
  for (const [key, locked] of Object.entries(lock.packages)) {
    if (!key.endsWith(`node_modules/${entry.package}`) || locked?.version !== entry.version) continue;
    const { resolved, integrity } = locked;
    if (typeof resolved === 'string' && typeof integrity === 'string') return { resolved, integrity, where: lock.folder };
  }
  return undefined;
}
