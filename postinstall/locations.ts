import { builtinModule } from '../common/builtin-module.js';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, win32 } from 'node:path';
import type { BinaryEntry } from '../common/ao-manifest.js';
import { expandHome, homeDir } from '../common/home.js';
import { untrustedToCreate } from './ownership.js';

/**
 * Where ao keeps what it verified or fetched outside node_modules: a
 * per-user cache (XDG_CACHE_HOME on POSIX, LOCALAPPDATA on Windows).
 * Binaries are content-addressed by their sha512, so two installs of the same
 * release share one file and a different release can never be mistaken for it.
 * bin/ao's usual path (launcher-entry.ts) restates the XDG_CACHE_HOME and HOME cases inline: change them together.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  // Only an absolute AO_CACHE_DIR, as for XDG_CACHE_HOME: a relative one named another folder from every working folder.
  // A leading `~` no shell expanded (a systemd unit, a .env file) is the home folder, as for AO_APP_DIR.
  const given = env.AO_CACHE_DIR && expandHome(env.AO_CACHE_DIR, env, platform);
  if (given && (platform === 'win32' ? win32 : posix).isAbsolute(given)) return given;
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homeDir(env, platform), 'AppData', 'Local'), 'ao', 'cache');
  // A relative XDG_CACHE_HOME is invalid (XDG spec): taken as is, it would leave a cache in every folder ao runs in.
  const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  return join(xdg ?? join(homeDir(env, platform), '.cache'), 'ao');
}

/**
 * The mode of every folder ao makes in a cache: never writable by others, whatever the umask. Under umask 000 they were
 * 0777, and the launcher then refused the binary fetched into them ("writable by other users"): ao never ran.
 */
export const CACHE_FOLDER_MODE = 0o755;

/** Where a root install keeps what it fetched and verified: inside the package, which root owns in a global root install. */
export function packageCacheRoot(packageDir: string): string {
  return join(packageDir, 'cache');
}

/**
 * The cache this process writes into (fetched binaries, stamps). cacheRoot(),
 * except as root when it lies in a folder another user controls (`sudo npm i
 * -g` on macOS, `sudo -E` or a Docker build with a user's HOME): files root
 * created there would be root's in that user's home, and their own ao could no
 * longer write its cache. Root then uses the package's own folder, or, when
 * that is someone else's too (root installing into a user's project), root's
 * own home.
 */
export function writableCacheRoot(packageDir: string, env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  // No home at all (`docker run -u 48213` without HOME) is as a home that cannot be written: the package's own folder,
  // or no stamp and a check on every call. The cache only remembers a verification; its absence must not stop ao.
  const own = homeCacheRoot(env);
  const pkg = packageCacheRoot(packageDir);
  // A HOME this user may not write (a service or CI user's /nonexistent or /): the package's own folder, where the
  // launcher also looks; without it the fallback fetch failed and every call hashed the binary again.
  if (uid !== 0) return own !== undefined && (mayCreate(own) || !mayCreate(pkg)) ? own : pkg;
  const candidates = own === undefined ? [pkg] : [own, pkg];
  return candidates.find((root) => !untrustedToCreate(root, uid)) ?? cacheRoot({ XDG_CACHE_HOME: join(builtinModule('node:os').userInfo().homedir, '.cache') });
}

/**
 * Where the postinstall's fallback fetch puts the binary: as root, a global install is every user's, so the package's own
 * folder, which every user's launcher searches. In root's own cache the others were told the package was missing, and
 * the reinstall printed fetched it there again. Not into a folder another user owns (root installing into a user's prefix).
 */
export function fetchCacheRoot(
  packageDir: string,
  global: boolean,
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): string {
  const pkg = packageCacheRoot(packageDir);
  return global && uid === 0 && !untrustedToCreate(pkg, 0) ? pkg : writableCacheRoot(packageDir, env, uid);
}

/** cacheRoot(), or undefined when no home folder can be found (ENOHOME) and nothing else names the cache. */
export function homeCacheRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return cacheRoot(env);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOHOME') return undefined;
    throw err;
  }
}

/** Whether this user may create `path` (or write into it): the nearest folder of it that exists is writable. */
function mayCreate(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    try {
      accessSync(p, constants.W_OK);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) return false;
    }
  }
}

/** Every cache that may hold a binary fetched for this package, the one this process writes first. */
export function cacheRootsToSearch(packageDir: string, writable: string): string[] {
  return [...new Set([writable, packageCacheRoot(packageDir), homeCacheRoot() ?? writable])];
}

export function integrityHex(integrity: string): string {
  return Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
}

/** `<cache>/bin/<first 32 hex of sha512>/ao[.exe]`. */
export function cachedBinaryPath(entry: BinaryEntry, root = cacheRoot()): string {
  const name = entry.path.split('/').pop()!;
  return join(root, 'bin', integrityHex(entry.integrity).slice(0, 32), name);
}

/**
 * The stamp remembering that one state of the file at `path` was verified, named by the file's device and inode, which
 * the launcher has from its stat already (a name hashed from the path cost its usual path 70 µs of interpreted loop).
 * Hard links share the stamp (pnpm links one store file into every project); an inode reused by another file comes
 * with another ctime, which the stamp records. Numbers past 2^53 (overlayfs with xino sets an inode's high bits; Lustre)
 * are not exact in JS, and two files would share a name: those are taken from an exact (bigint) stat. Put together by
 * hand, not path.join, on bin/ao's usual path (launcher-entry.ts says why); Windows takes '/' as well.
 */
export function stampPath(path: string, st: { dev: number; ino: number }, root = cacheRoot()): string {
  if (Number.isSafeInteger(st.dev) && Number.isSafeInteger(st.ino)) return `${root}/verified/${st.dev}-${st.ino}.json`;
  const exact = statSync(path, { bigint: true });
  return join(root, 'verified', `${BigInt.asUintN(64, exact.dev)}-${BigInt.asUintN(64, exact.ino)}.json`);
}
