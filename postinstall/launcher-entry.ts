/**
 * `bin/ao` of @aoagents/ao, the launcher's first file: what pnpm, yarn and bun shims (and npm with scripts
 * blocked) run through node on every `ao` call. On the usual path (the platform binary verified before: a stamp hit)
 * it replaces itself with the binary (process.execve), or spawns it where Node cannot (spawn-binary.ts, bundled in), having
 * compiled only this small file, since V8 parses the whole of a file it loads and the full launcher is many times
 * larger. Anything else (no stamp or a stale one, AO_BINARY_PATH, Windows, a platform package elsewhere than beside
 * ao, a binary fetched into the cache, a legacy home with projects to import, any error) loads the full launcher (`lib/launcher-full.cjs`,
 * launcher.ts), which makes every check again, says what is wrong, or runs the binary.
 *
 * The usual path is straight-line code: V8 compiles each function on its first call (about 10 µs each here), and
 * calling the full launcher's small functions had cost this path 1.3 ms where this costs 0.8 (postinstall/README.md).
 * It takes the usual case only and never runs a binary the full launcher would not: the stamp's rule (hasValidStamp)
 * is the full launcher's own, and test/postinstall/launcher-fast-path.test.ts runs both over the same states.
 */
import { accessSync, constants, existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { MANIFEST_FILE, type AoManifest } from '../common/ao-manifest.js';
import { formatError, UserError } from '../common/errors.js';
import { homeDirOrNone } from '../common/home.js';
import { realPath, realPathOrGiven } from '../common/own-path.js';
import { permissionDenied } from './access-denied.js';
import { execveHere, sameFileAs } from './exec-binary.js';
import { whenInstallSettles } from './install-settle.js';
import { inPackageFolder, launcherCopy, ownPackage } from './launcher-copy.js';
import { noticeNeverDue } from './legacy-notice.js';
import { homeCacheRoot, packageCacheRoot } from './locations.js';
import { runAsChild } from './spawn-binary.js';
import { hasValidStamp } from './verify-binary.js';

/** The full launcher, in the package's lib/ (release/main-package.ts ships it there). */
const FULL_LAUNCHER = 'launcher-full.cjs';
/** Its last line, which the build writes (scripts/shipped.mjs): a file without it is one an install is still writing. */
declare const __AO_FULL_LAUNCHER_END__: string;

// The path Node started it by when its folder has just gone: npm moves ao's folder aside to put another release in
// its place, and the wait for the install in progress (fullLauncher) meets that one there.
const self = realPathOrGiven(import.meta.filename);
// Paths on the usual path are put together by hand from known parts (a real path, the manifest's names): path.join
// runs Node's interpreted normalizeString over the whole path, 10 to 35 µs a call there (postinstall/README.md).
const packageDir = dirname(dirname(self));

/**
 * The platform binary, and its stat when it was found verified, if this call is the usual case; undefined sends it to
 * the full launcher. Each `undefined` below is a case the full launcher handles (or explains) itself.
 */
function usualBinary(): { binary: string; checked: Stats } | undefined {
  const env = process.env;
  // AO_BINARY_PATH is spawned, never exec'd; Node's permission model gets the full launcher's message; an Intel Mac
  // may be an arm64 one under Rosetta (host.ts).
  if (env.AO_BINARY_PATH || (process as { permission?: unknown }).permission || (process.platform === 'darwin' && process.arch === 'x64')) return undefined;
  const entry = (JSON.parse(readFileSync(`${packageDir}/${MANIFEST_FILE}`, 'utf8')) as AoManifest).binaries[`${process.platform}-${process.arch}`];
  if (!entry) return undefined;
  // Where resolve.ts looks first: ao's own node_modules, then the folder holding ao (hoisted; pnpm's sibling links).
  // Elsewhere (Yarn PnP) the full launcher asks Node's resolution.
  let pkgJson = `${packageDir}/node_modules/${entry.package}/package.json`;
  if (!existsSync(pkgJson)) pkgJson = `${dirname(dirname(packageDir))}/${entry.package}/package.json`;
  if (!existsSync(pkgJson)) return undefined;
  const binary = `${dirname(realPath(pkgJson))}/${entry.path}`;
  const checked = statSync(binary, { throwIfNoEntry: false });
  // The stamp where the full launcher writes it (writableCacheRoot): the user's cache, found without cacheRoot's calls
  // unless AO_CACHE_DIR or a relative XDG_CACHE_HOME needs them, or else the package's own (root with a HOME another
  // user owns, a HOME no one may write). A stamp proves its file state was verified wherever it lies (hasValidStamp).
  const xdg = env.XDG_CACHE_HOME || (env.HOME && `${env.HOME}/.cache`);
  const cache = env.AO_CACHE_DIR || !xdg?.startsWith('/') ? homeCacheRoot(env) : `${xdg}/ao`;
  if (!checked) return undefined;
  if (!(cache && hasValidStamp(binary, checked, entry, cache)) && !hasValidStamp(binary, checked, entry, packageCacheRoot(packageDir))) return undefined;
  // The kernel's own answer (noexec mounts too): Node aborts the process when execve fails.
  accessSync(binary, constants.X_OK);
  // A legacy user who has not imported their home or dismissed the notice: the full launcher shows it when due.
  const home = homeDirOrNone(env);
  if (home !== undefined && !noticeNeverDue(env, home)) return undefined;
  return { binary, checked };
}

function endsWhole(file: string): boolean {
  try {
    return readFileSync(file, 'latin1').trimEnd().endsWith(__AO_FULL_LAUNCHER_END__);
  } catch {
    return false;
  }
}

function fullLauncher(): void {
  const full = join(packageDir, 'lib', FULL_LAUNCHER);
  // Both come from loading the file, before any of it ran: loading it again is safe. Not found is told by Node's own
  // message, not by looking again: bun and yarn 1 unlink it and write it anew, and it may be back by then.
  const incomplete = (err: unknown) => err instanceof SyntaxError || (err as Error).message?.startsWith(`Cannot find module '${full}'`);
  const ours = inPackageFolder(packageDir);
  // ao's package, partly written (yarn 1 unlinks package.json with the rest), or its folder moved aside for the
  // moment; a copy of the launcher elsewhere is neither.
  const installing = () => ours || ownPackage(packageDir) !== undefined || !existsSync(packageDir);
  try {
    // An upgrade extracting in place (yarn 1, bun; npm into ao's new folder) writes bin/ before lib/, and a file in
    // pieces: a call in between waits for the install in progress, as the full launcher does for the platform package.
    whenInstallSettles(
      packageDir,
      () => {
        // Cut short between two statements it would parse, and run half of itself.
        if (!endsWhole(full)) throw new SyntaxError(`${FULL_LAUNCHER} ends before its last line`);
        require(full);
      },
      (err) => incomplete(err) && installing(),
    );
  } catch (cause) {
    if (!incomplete(cause)) throw cause;
    const own = ownPackage(packageDir);
    const gone = !existsSync(full);
    const err = !existsSync(packageDir)
      ? new UserError({
          what: `${packageDir} is gone`,
          why: 'ao was uninstalled or moved while this call started',
          fix: 'install ao again (npm install -g @aoagents/ao, or with the package manager you use)',
          code: 'EAOINTEGRITY',
        })
      : !own && !ours
        ? launcherCopy(self, full)
        : new UserError({
            what: `${full} is ${gone ? 'missing' : 'damaged'}`,
            why: `the package is incomplete: the launcher is only partly there${gone ? '' : ` (${(cause as Error).message})`}`,
            fix: `reinstall ${own ? `${own.name}@${own.version}` : '@aoagents/ao'} with the package manager that installed it`,
            code: 'EAOINTEGRITY',
          });
    process.stderr.write(formatError(err) + '\n');
    process.exit(1);
  }
}

/**
 * Node without process.execve (20 to 22.14, 23.0 to 23.10) on POSIX: the binary is spawned, as the full launcher does it
 * (spawn-binary.ts), not from the full launcher's 54 KB, which Node 20 (no compile cache) parsed on every call. In this
 * file, not a third one: loading lib/launcher-spawn.cjs had cost Node 20 0.25 to 0.35 ms a call, where its 2.5 KB here
 * cost Node 22 and 24, which never run it, 0.07 to 0.10 ms of parsing (postinstall/README.md, Measured). Needs
 * process.getBuiltinModule (Node >= 20.16), as the full launcher does.
 */
const spawnsHere = process.platform !== 'win32' && typeof process.getBuiltinModule === 'function';

function main(): void {
  const execve = execveHere();
  // Where the launcher stays beside the binary, SIGUSR1 is ours from the first moment, as in the full launcher
  // (signal-forward.ts): without a listener Node opens its inspector, and this path reads files that may block.
  if (!execve && spawnsHere) process.on('SIGUSR1', () => {});
  try {
    const found = (execve || spawnsHere) && usualBinary();
    // Still the file the stamp vouched for (an upgrade may have written it anew since), checked last, right before the
    // hand-over; else the full launcher looks again.
    if (found && sameFileAs(found.binary, found.checked)) {
      const args = process.argv.slice(2);
      if (execve) execve(found.binary, [found.binary, ...args], process.env);
      // One that cannot start (removed since its check) is the full launcher's to look for again or explain.
      runAsChild(found.binary, args, fullLauncher);
      return;
    }
  } catch {
    // whatever it is, the full launcher meets it again and explains it
  }
  fullLauncher();
}

try {
  main();
} catch (err) {
  // Node 22 and 24 read the entry point under --permission whatever it allows: without reads of ao's own folder, bin/ao
  // cannot reach the full launcher, which says this for every other refusal.
  const denied = permissionDenied(err);
  if (!denied) throw err;
  process.stderr.write(formatError(denied) + '\n');
  process.exit(1);
}
