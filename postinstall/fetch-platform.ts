/**
 * The postinstall's fallback when the platform package is missing
 * (--omit=optional, a lockfile from another platform, node_modules copied
 * from another OS): fetch exactly that package version the way npm would,
 * check it, and install its binary into the content-addressed cache the
 * launcher also looks in.
 *
 * npm's configuration is loaded with @npmcli/config and its own definitions,
 * the loader npm itself uses, so registry, scoped registries, auth tokens,
 * proxy, cafile and the offline cache resolve exactly as for the install that
 * runs us (npm passes its effective settings to scripts as npm_config_* and
 * the npmrc files are read the same way). Shelling out to `npm config get`
 * would cost a second npm start-up and miss nerf-darted auth under pnpm/bun.
 * This file is bundled on its own and loaded only on that path, so neither
 * the launcher nor a normal postinstall pays for pacote.
 */
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pacote from 'pacote';
import { UserError } from '../common/errors.js';
import { DISK_FULL, isFileSystemError } from '../common/file-system-error.js';
import { redactSecrets } from '../common/redact.js';
import { npmFlatOptions } from '../common/npm-config.js';
import { removeKilledTempSiblings, renameWithRetry, tempSibling } from '../common/fs-atomic.js';
import { CACHE_FOLDER_MODE, cachedBinaryPath } from './locations.js';
import type { BinaryEntry } from '../common/ao-manifest.js';
import { checkBinary } from './verify-binary.js';
import { FETCH_OFFLINE } from './diagnose.js';
import type { LockedTarball } from './resolve.js';

/**
 * Returns the verified binary's path in `cache` (see writableCacheRoot); throws a UserError (credentials redacted) on
 * any failure. `locked`: the project's package-lock.json entry for the package, fetched as `npm ci` would.
 */
export async function fetchPlatformBinary(entry: BinaryEntry, cwd: string, cache: string, locked?: LockedTarball): Promise<string> {
  return fetchInto(entry, cwd, cache, locked).catch((err: Error) => {
    if (err instanceof UserError) throw err;
    // The cache folder refused the file (not writable, a file in the way, a full disk): nothing the network can fix.
    if (isFileSystemError(err)) {
      throw new UserError({
        what: `cannot install ${entry.package}@${entry.version} into ${cache}`,
        why: err.message,
        fix: `make ${cache} a folder this user can write${DISK_FULL.has(err.code!) ? ', on a disk with space left' : ''}, or set AO_CACHE_DIR to a folder you own, then reinstall ao`,
        code: 'EAOFETCH',
      });
    }
    throw new UserError({
      what: `cannot install ${entry.package}@${entry.version}`,
      why: redactSecrets(String(err.message).split('\n')[0] ?? ''),
      fix: 'check the registry and network settings (npm config get registry), then reinstall ao',
      code: 'EAOFETCH',
    });
  });
}

/** The staging folders' names in `<cache>/tmp`: `.fetch.staging-<pid>-...`, so a killed run's is known by its pid. */
const STAGING_TAG = 'staging';

async function fetchInto(entry: BinaryEntry, cwd: string, cache: string, locked: LockedTarball | undefined): Promise<string> {
  const dest = cachedBinaryPath(entry, cache);
  // A fetch killed mid-way (Ctrl-C, a closed laptop on a slow network) left its staging folder, or the copy of the
  // binary under its temp name: a package's worth each time, that nothing else removes. A live fetch's stay.
  const stagingName = join(cache, 'tmp', 'fetch');
  removeKilledTempSiblings(stagingName, STAGING_TAG, true);
  removeKilledTempSiblings(dest, undefined, true);
  if (!checkSafely(dest, entry)) return dest;
  const spec = `${entry.package}@${entry.version}`;
  const opts = await npmFlatOptions({ cwd, env: withoutYarn1DefaultRegistry(process.env) });
  await mkdir(join(cache, 'tmp'), { recursive: true, mode: CACHE_FOLDER_MODE });
  const staging = tempSibling(stagingName, STAGING_TAG);
  // Owner-only: the fetched binary is checked in it, then copied out; a folder others may write (umask 000) lets them swap it between.
  await mkdir(staging, { mode: 0o700 });
  try {
    // With the lockfile's entry, its URL and integrity, as `npm ci` fetches: npm's cache answers by integrity, offline
    // or with the registry down, and holds no packument when `npm ci` filled it. pacote checks the tarball against
    // that integrity. Without one, the registry's packument gives both: the full one, as npm (10.8 on, every npm a
    // supported Node ships) asks for it when it installs, the one its cache holds, where the abbreviated one pacote
    // asks for by default was never cached.
    const [source, sourceOpts] = locked
      ? [`${entry.package}@${locked.resolved}`, { ...opts, integrity: locked.integrity, where: locked.where }]
      : [spec, { ...opts, fullMetadata: true }];
    await pacote
      .extract(source, staging, sourceOpts)
      .catch((cause: Error) => {
        // npm's cache refuses this user (root's after a `sudo npm`; yarn, pnpm and bun never use it): a cache of this
        // fetch's own, removed with it, where it had failed as a network problem.
        if (!refusedByNpmCache(cause, opts.cache)) throw cause;
        return pacote.extract(source, staging, { ...sourceOpts, cache: `${staging}.npm-cache` });
      })
      .catch((cause: NodeJS.ErrnoException) => {
        // npm told not to use the network: no registry or network setting is wrong, the cache lacks the package.
        if (cause.code === 'ENOTCACHED') {
          throw new UserError({
            what: `cannot download ${spec}`,
            why: `npm is offline (--offline, or offline=true in an npmrc), and its cache does not hold ${spec}`,
            // The command itself follows (the postinstall's "To fix"): the install's, with --offline=false.
            fix: 'with the registry reachable, install again with --offline=false (offline=true in an npmrc holds otherwise)',
            code: FETCH_OFFLINE,
          });
        }
        // Registry URLs can carry credentials (https://user:token@host/, https://token@host/, ?token=): never print them into install logs.
        throw new UserError({
          what: `cannot download ${spec}`,
          why: redactSecrets(cause.message.split('\n')[0] ?? ''),
          fix: 'check the registry and network settings (npm config get registry), then reinstall ao',
          code: 'EAOFETCH',
        });
      });
    const fetched = join(staging, ...entry.path.split('/'));
    const problem = checkSafely(fetched, entry);
    if (problem)
      throw new UserError({
        what: `refusing ${spec} from the registry`,
        why: problem,
        fix: "the registry served a binary that is not this release's; report it and reinstall from the public registry",
        code: 'EAOINTEGRITY',
      });
    await mkdir(dirname(dest), { recursive: true, mode: CACHE_FOLDER_MODE });
    // Same bytes whoever wins: concurrent postinstalls each rename a complete file into place.
    const tmp = tempSibling(dest);
    await copyFile(fetched, tmp);
    await chmod(tmp, 0o755);
    await renameWithRetry(tmp, dest).catch(async (err) => {
      await rm(tmp, { force: true });
      throw err;
    });
    return dest;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(`${staging}.npm-cache`, { recursive: true, force: true });
  }
}

/** Whether `err` is npm's cache folder refusing a write (its path in `cache`), not the registry or the network failing. */
function refusedByNpmCache(err: unknown, cache: unknown): boolean {
  const { code, path } = err as NodeJS.ErrnoException;
  return typeof cache === 'string' && ['EACCES', 'EPERM', 'EROFS'].includes(code ?? '') && typeof path === 'string' && path.startsWith(cache);
}

/**
 * yarn 1 hands install scripts its own default registry as npm_config_registry, over the npmrc that yarn 1 itself
 * installs from (a mirror, a private registry): that value is dropped so the npmrc files decide, as for the
 * install. A registry the user set for yarn (.yarnrc) is exported as set and kept.
 */
function withoutYarn1DefaultRegistry(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const yarn1 = /^yarn\/1\./.test(env.npm_config_user_agent ?? '');
  if (!yarn1 || !/^https:\/\/registry\.yarnpkg\.com\/?$/.test(env.npm_config_registry ?? '')) return env;
  const { npm_config_registry: _, ...rest } = env;
  return rest;
}

function checkSafely(path: string, entry: BinaryEntry): string | undefined {
  try {
    return checkBinary(path, entry)?.detail;
  } catch (err) {
    return (err as Error).message;
  }
}
