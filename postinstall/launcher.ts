/**
 * The full `ao` launcher of @aoagents/ao (`lib/launcher-full.cjs`), wherever the native binary is not swapped
 * in (scripts blocked, pnpm/yarn/bun shims, Windows). `bin/ao` (launcher-entry.ts) runs first and hands over to
 * the binary itself on the usual path; it loads this file for everything else: a first run, a binary that changed,
 * AO_BINARY_PATH, Node without process.execve, Windows, any error. This finds the platform
 * binary, verifies it once per file state, and hands over to it: where Node
 * can (`process.execve`, Node >= 22.15) the binary replaces this process, so
 * signals, the exit status and the pid are the binary's own; elsewhere it is
 * spawned and signals are forwarded (signal-forward.ts).
 * It uses Node built-ins only and does as little as possible before the hand-over. It never modifies the
 * install: a process the kernel already started through `#!/usr/bin/env node` reads bin/ao afterwards, and would
 * die of a SyntaxError if a binary had replaced it.
 */
import { accessSync, constants, existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { dropWritesToClosedPipes } from '../common/closed-pipe.js';
import { formatError, isUserError, UserError } from '../common/errors.js';
import { absoluteUserPath } from '../common/home.js';
import { installLayout, reinstallCommand, sudoFor, type InstallLayout } from '../common/install-layout.js';
import { realPathOrGiven } from '../common/own-path.js';
import { shellQuote } from '../common/shell-quote.js';
import { diagnoseMissingBinary, zippedByYarn } from './diagnose.js';
import { execRefusal, execveHere, nodeSupported, sameFileAs, type Execve } from './exec-binary.js';
import { hostFacts, preferredTargets } from './host.js';
import { whenInstallSettles } from './install-settle.js';
import { cannotRunOnWindows } from './windows-start.js';
import { permissionDenied, unreadable } from './access-denied.js';
import { inPackageFolder, launcherCopy, ownPackage } from './launcher-copy.js';
import { legacyNotice } from './legacy-notice.js';
import { cachedBinaryPath, cacheRootsToSearch, writableCacheRoot } from './locations.js';
import { MANIFEST_FILE, type AoManifest, type BinaryEntry } from '../common/ao-manifest.js';
import { untrustedBy } from './ownership.js';
import { npmrcOffline, platformLimit } from './platform-limit.js';
import { findPlatformPackage, inYarnZip, npmLockfile } from './resolve.js';
import { FORWARDED, forwardSignals, INSPECTOR_SIGNAL } from './signal-forward.js';
import { runAsChild, type StartedBinary } from './spawn-binary.js';
import { type Problem, verifyBinaryOnce } from './verify-binary.js';

// Or the path bin/ao loaded it by, when bun replacing ao has just removed the old release's files: the wait for the
// install in progress (whenInstallSettles) meets that.
const self = realPathOrGiven(import.meta.filename);
const packageDir = join(dirname(self), '..');

let knownLayout: InstallLayout | undefined;
/** How ao was installed, worked out once a call, when first needed (a few stats and reads). */
const layout = (): InstallLayout => (knownLayout ??= installLayout(packageDir));
/** The file that ran: `bin/ao`, the launcher's entry, which loaded this one. */
const entryFile = join(packageDir, 'bin', 'ao');

function die(err: unknown): never {
  process.stderr.write(formatError(permissionDenied(err) ?? unreadable(err) ?? err) + '\n');
  process.exit(1);
}

/**
 * The manifest's own failures (missing, cut short, or no package.json above it either): what a call meets while yarn 1
 * or bun replace ao in place, unlinking each file and writing it anew, so they wait for an install in progress too.
 */
const manifestFailures = new WeakSet<object>();

function manifestFailure(err: UserError): UserError {
  manifestFailures.add(err);
  return err;
}

/** The release this launcher belongs to, from the manifest beside it in @aoagents/ao. */
function readManifest(): AoManifest {
  const path = join(packageDir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
    // Inside its package (whose package.json declares this launcher, or the folder every package manager puts it in:
    // yarn 1 unlinks package.json too while it replaces ao): the package lost a file (an interrupted extract, an
    // antivirus). A copy in ~/bin may well have some other package.json above it, and never waits.
    if (ownPackage(packageDir) || inPackageFolder(packageDir)) {
      throw manifestFailure(
        new UserError({
          what: `${path} is missing`,
          why: "the package is incomplete: the launcher cannot tell which binary is this release's",
          fix: `reinstall ao: ${reinstallCommand(layout(), ownSpec())}`,
          code: 'EAOINTEGRITY',
          cause,
        }),
      );
    }
    throw launcherCopy(entryFile, path, cause);
  }
  try {
    return JSON.parse(text) as AoManifest;
  } catch (cause) {
    throw manifestFailure(
      new UserError({
        what: `${path} is damaged`,
        why: `it does not parse as JSON (${(cause as Error).message}): the launcher cannot tell which binary is this release's`,
        fix: `reinstall ao: ${reinstallCommand(layout(), ownSpec())}`,
        code: 'EAOINTEGRITY',
        cause,
      }),
    );
  }
}

/** `@aoagents/ao@<version>` from the package's own package.json, for a fix printed when the manifest cannot say. */
function ownSpec(): string {
  const own = ownPackage(packageDir);
  return own ? `${own.name}@${own.version}` : '@aoagents/ao';
}

/** What AO_BINARY_PATH should name instead of a launcher or its shim. */
const THE_BINARY_NOT_A_LAUNCHER = 'the ao binary (not the `ao` command npm, pnpm, yarn or bun put on PATH)';

function fromOverride(): string | undefined {
  const given = process.env.AO_BINARY_PATH;
  if (!given) return undefined;
  // Absolute, so the file checked is the file run: a spawn looks a bare name up on PATH. A leading ~ (an agent's JSON
  // config, a systemd unit: no shell expanded it) is the home folder, as in AO_CACHE_DIR and AO_APP_DIR.
  const override = absoluteUserPath(given);
  const refuse = (what: string, why: string, fix: string) =>
    new UserError({ what: `AO_BINARY_PATH=${given} ${what}`, why, fix: `point AO_BINARY_PATH at ${fix}, or unset it`, code: 'EAOOVERRIDE' });
  try {
    accessSync(override, constants.X_OK);
  } catch (cause) {
    throw refuse('cannot be run', (cause as Error).message, 'an executable ao binary');
  }
  const st = statSync(override);
  if (!st.isFile()) {
    throw refuse(
      'is not a file',
      `it names a ${st.isDirectory() ? 'folder' : 'special file'}, and the kernel starts only files`,
      'the ao binary itself (the file, not its folder)',
    );
  }
  if (isThisLauncher(st)) {
    throw refuse('is this ao launcher itself', 'it would start the launcher again, and that one again, without end', THE_BINARY_NOT_A_LAUNCHER);
  }
  if (startsALauncher(override, st)) {
    throw refuse(
      'starts an ao launcher',
      "it is a script that runs `node .../@aoagents/ao/bin/ao` (a package manager's shim), and that launcher would take AO_BINARY_PATH and start it again, without end",
      THE_BINARY_NOT_A_LAUNCHER,
    );
  }
  // A reader gone before this line (`ao ... 2>&1 | head -n 1`) must not kill the launcher while the binary runs.
  dropWritesToClosedPipes([process.stderr]);
  process.stderr.write(`ao: using AO_BINARY_PATH=${override} (not verified)\n`);
  return override;
}

/** The largest file read to tell a shim: pnpm's and npm's shims are about 1 KB, a binary is megabytes. */
const SHIM_MAX_BYTES = 64 * 1024;

/**
 * Whether `file` is a script that starts an ao launcher: pnpm's shim (`$(which ao)` under pnpm) and the .cmd and .ps1
 * shims on Windows name `@aoagents/ao/bin/ao`. Any launcher it starts honours AO_BINARY_PATH too.
 */
function startsALauncher(file: string, st: Stats): boolean {
  if (st.size > SHIM_MAX_BYTES) return false;
  try {
    return /@aoagents[\\/]+ao[\\/]+bin[\\/]+ao(?![\w.-])/.test(readFileSync(file, 'latin1'));
  } catch {
    return false; // unreadable: the spawn says what it finds
  }
}

/** Whether the file `other` describes is the launcher (its entry, or this file), however it is linked. */
function isThisLauncher(other: Stats): boolean {
  return [entryFile, self].some((file) => {
    const own = statSync(file, { throwIfNoEntry: false });
    return own?.ino === other.ino && own?.dev === other.dev;
  });
}

/** The binary to start, with its stat when it was verified (none for AO_BINARY_PATH, which is not). */
interface Resolved {
  binary: string;
  checked?: Stats;
  /** The installed platform package holding it, for the repair (yarn dlx's names that package's zip in Yarn's cache). */
  dir?: string;
}

function resolveBinary(manifest: AoManifest): Resolved {
  const override = fromOverride();
  if (override) return { binary: override };
  const wanted = preferredTargets(hostFacts());
  const release = { name: manifest.name, version: manifest.version };
  // Stamps go where this user may write: as root, never into another user's home (sudo keeping HOME).
  const cache = writableCacheRoot(packageDir);
  for (const target of wanted) {
    const entry: BinaryEntry | undefined = manifest.binaries[target];
    if (!entry) continue;
    const found = findPlatformPackage(packageDir, entry);
    // Gone since it was found (an install replacing it) is as not there: the install in progress is waited for.
    const checked = found && statSync(found.binary, { throwIfNoEntry: false });
    if (found && checked) {
      if (inYarnZip(found.dir)) throw zippedByYarn(found.binary, entry, layout().project);
      verifyBinaryOnce(
        found.binary,
        entry,
        release,
        () => found.version(),
        () => reinstallCommand(layout(), `${release.name}@${release.version}`, found.dir, found.binary),
        // yarn dlx's folder is gone once this call ends: a stamp per call for a file no later call meets.
        layout().yarnDlx ? false : cache,
        checked,
      );
      return { binary: found.binary, checked, dir: found.dir };
    }
    // Where the postinstall puts a package it had to fetch itself (a user's cache: another user may own it).
    const inCaches = cacheRootsToSearch(packageDir, cache)
      .map((root) => cachedBinaryPath(entry, root))
      .filter((path) => existsSync(path));
    // Another user's file in a shared cache is never run, this user's own copy elsewhere (the package's folder) is.
    const cached = inCaches.find((path) => !untrustedBy(path)) ?? inCaches[0];
    if (cached) {
      const untrusted = untrustedBy(cached);
      if (untrusted) {
        throw new UserError({
          what: `refusing to run ${cached}`,
          why: untrusted,
          // As root this is mostly `sudo ao` keeping the invoking user's HOME, and so their cache.
          fix: `${process.getuid?.() === 0 ? 'run it with sudo -H (root then uses its own cache), or ' : ''}install ao's platform package for this user: ${reinstallCommand(layout(), `${release.name}@${release.version}`)}`,
          code: 'EAOOWNER',
        });
      }
      const checked = statSync(cached);
      verifyBinaryOnce(
        cached,
        entry,
        release,
        () => undefined,
        () => reinstallCommand(layout(), `${release.name}@${release.version}`),
        cache,
        checked,
      );
      return { binary: cached, checked };
    }
  }
  const present = Object.keys(manifest.binaries).filter((t) => !wanted.includes(t) && findPlatformPackage(packageDir, manifest.binaries[t]!));
  const installed = layout();
  const { manager, global, yarnBerry, project } = installed;
  const native = manifest.binaries[[...wanted].reverse().find((t) => manifest.binaries[t]) ?? ''];
  const offlineRc = manager === 'npm' ? npmrcOffline(global ? undefined : project) : undefined;
  throw diagnoseMissingBinary({
    offline: offlineRc && `offline=true in ${offlineRc}`,
    platformLimit: native && platformLimit(manager, yarnBerry ?? false, global ? undefined : project, native),
    manifest,
    wanted,
    presentTargets: present,
    lockfile: global ? undefined : npmLockfile(packageDir, manifest),
    installer: manager,
    global,
    yarnBerry,
    project,
    sudo: sudoFor(installed),
  });
}

/**
 * What a package manager replacing ao leaves for a moment: its platform package not yet there, another release's, its
 * binary still being written (npm extracts in place: another size), or ao's manifest not yet (fully) there. An altered
 * binary of the right size never waits.
 */
const installInProgress = (err: unknown) =>
  isUserError(err) &&
  (err.code === 'EAOMISSING' ||
    err.code === 'EAOSKEW' ||
    (err.code === 'EAOINTEGRITY' && ['size', 'replaced'].includes((err.cause as Problem | undefined)?.kind ?? '')) ||
    manifestFailures.has(err));

/** Why `found` could not be started, and the fix; an unchecked binary is AO_BINARY_PATH's, not the package's verified one. */
function cannotRun(found: Resolved, err: Error): UserError {
  const { binary, dir } = found;
  const override = !found.checked;
  const denied = permissionDenied(err);
  if (denied) return denied;
  if (process.platform === 'win32') return cannotRunOnWindows(binary, err, override ? undefined : reinstallCommand(layout(), ownSpec(), dir, dir && binary));
  const st = statSync(binary, { throwIfNoEntry: false });
  const mode = st?.isFile() ? st.mode & 0o777 : undefined;
  const noExecBit = mode !== undefined && (mode & 0o111) === 0;
  const dlxTemp = !override && !noExecBit && (err as NodeJS.ErrnoException).code === 'EACCES' ? yarnDlxTemp() : undefined;
  if (dlxTemp) {
    // yarn dlx unpacks ao into a throwaway project in the temp folder, gone once the call ends: `ls -l` of the file
    // showed nothing, and a hardened /tmp (noexec) is fixed by another temp folder for yarn dlx, not by the file.
    const again = ['yarn', 'dlx', ownSpec(), ...process.argv.slice(2).map(shellQuote)].join(' ');
    return new UserError({
      what: `cannot run ${binary}`,
      why: `${err.message}: yarn dlx unpacks ao into the temp folder, and ${dlxTemp} does not allow running programs (mounted noexec)`,
      fix: `mkdir -p ~/.cache/tmp && TMPDIR=~/.cache/tmp ${again}`,
      code: 'EAOSPAWN',
    });
  }
  return new UserError({
    what: `cannot run ${binary}`,
    why: noExecBit ? `it is not executable (mode ${mode.toString(8)}): ${err.message}` : err.message,
    fix: noExecBit
      ? `chmod +x ${shellQuote(binary)}`
      : `check the file exists and is executable, and that its file system is not mounted noexec: ls -l ${shellQuote(binary)}`,
    code: 'EAOSPAWN',
  });
}

/** The temp folder holding yarn dlx's throwaway project (`<tmp>/xfs-<hex>/dlx-<pid>`), when ao runs from one. */
function yarnDlxTemp(): string | undefined {
  const installed = layout();
  return installed.yarnDlx && installed.project ? dirname(dirname(installed.project)) : undefined;
}

let child: StartedBinary | undefined;

/** The binary found and verified, the install in progress waited for when it is under way. */
const lookUp = () => whenInstallSettles(packageDir, () => resolveBinary(readManifest()), installInProgress);

/** `found`, or, replaced since it was verified (an upgrade writing it anew), verified again. Checked last, right before the hand-over. */
function stillInPlace(found: Resolved): Resolved {
  for (let again = 0; found.checked && !sameFileAs(found.binary, found.checked); again++) {
    if (again === 3) {
      throw new UserError({
        what: `${found.binary} keeps changing`,
        why: 'it was replaced each time the launcher had checked it: something is writing it',
        fix: 'run ao again once the install or whatever writes that file has finished',
        code: 'EAOINTEGRITY',
      });
    }
    found = lookUp();
  }
  return found;
}

/** `retry`: a verified binary gone at its spawn is looked for again, once. */
function run(found: Resolved, execve: Execve | undefined, retry = true): void {
  const { binary } = found;
  const args = process.argv.slice(2);
  if (execve) {
    const refused = execRefusal(binary);
    if (refused) die(cannotRun(found, refused));
    try {
      execve(binary, [binary, ...args], process.env);
    } catch (err) {
      die(cannotRun(found, err as Error));
    }
  }
  const failed = (err: Error) => {
    // Gone since its last check (npm moves ao's folder aside to put another release there): the install in progress is
    // waited for and the binary looked for again, once (runAsChild has taken its signal handlers away: a Ctrl-C ends the
    // wait). It had ended in "cannot run ... ENOENT" and a fix to check that the file is executable.
    if (!(retry && found.checked && (err as NodeJS.ErrnoException).code === 'ENOENT')) die(cannotRun(found, err));
    let again: Resolved;
    try {
      again = stillInPlace(lookUp());
    } catch (cause) {
      die(cause);
    }
    run(again, undefined, false);
  };
  try {
    child = runAsChild(
      binary,
      args,
      failed,
      FORWARDED.filter((signal) => signal !== INSPECTOR_SIGNAL),
    );
  } catch (err) {
    // Node's permission model refuses a spawn by a throw, not an 'error' event: uncaught, it had printed its stack.
    failed(err as Error);
  }
}

function main(): void {
  // An AO_BINARY_PATH is spawned, never exec'd: it is not verified, and the kernel may refuse it in ways no check
  // foresees (a missing interpreter, another CPU's binary), where Node aborts the process instead of throwing.
  const execve = process.env.AO_BINARY_PATH ? undefined : execveHere();
  // SIGUSR1 is ours from the first moment (signal-forward.ts), also where the binary will replace this process: a
  // first run hashes it first, and meanwhile Node's inspector would answer the signal (a debugger port open).
  forwardSignals(() => child, [INSPECTOR_SIGNAL]);
  let found: Resolved;
  try {
    if (!nodeSupported()) {
      throw new UserError({
        what: `cannot run on Node ${process.version}`,
        why: 'it needs Node 20.17 or later',
        fix: 'install a current Node (https://nodejs.org), or install ao with npm and its install script allowed, which puts the native binary in place of this launcher',
        code: 'EAONODE',
      });
    }
    found = lookUp();
    legacyNotice('launch');
    found = stillInPlace(found);
  } catch (err) {
    die(err);
  }
  run(found, execve);
}

main();
