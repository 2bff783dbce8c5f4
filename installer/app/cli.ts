// First: tunes V8 before undici loads (see memory.ts).
import './tune-process.js';
import './quiet-warnings.js';
import { fstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isatty } from 'node:tty';
import { realFilePath } from '../../common/own-path.js';
import { parseArgs } from 'node:util';
import { formatError, isUserError, UserError } from '../../common/errors.js';
import { fileSystemFailure, isFileSystemError } from '../../common/file-system-error.js';
import { createProgress, pickProgressMode } from '../../common/progress.js';
import { writesThatNeverFail } from '../../common/closed-pipe.js';
import { redactingSink } from '../../common/redact.js';
import { clearEnvFor, setEnvFor } from '../../common/shell-quote.js';
import { aoStateDir } from './app-state.js';
import { localPath } from '../../common/home.js';
import { hostTargetId, validateAppManifest, type AppManifest } from '../../common/app-manifest.js';
import { appPath, defaultRoot, installApp, removeApp, verifyApp } from './install.js';
import { EXIT_INTERNAL, runCommand } from './run-command.js';
import { guardUndiciSocketEnd } from './undici-guard.js';
import { cleanUpWhenInterrupted } from './interrupt-cleanup.js';
import { TEST_HOOKS } from '../../common/test-hooks.js';
import { readJsonFile } from '../../common/json-file.js';

/**
 * `ao-app install|verify|where|remove [--json] [--quiet] [--manifest <file>]`.
 * Shipped as `lib/ao-app` inside @aoagents/ao; by default the manifest is the
 * package's own `ao-manifest.json` (field `app`), one folder up.
 */
const USAGE =
  'usage: ao-app install|verify|where|remove [--json] [--quiet] [--manifest <file>] [--target <os-cpu>] [--dir <folder>]\n  AO_APP_DIR (default ~/.ao/app), AO_APP_BASE_URL, AO_APP_STALL_MS, AO_APP_DEADLINE_MS, HTTPS_PROXY/NO_PROXY';

function loadManifest(file: string | undefined): AppManifest {
  const path = file === undefined ? join(dirname(realFilePath(import.meta.url)), '..', 'ao-manifest.json') : pathArgument('manifest', file);
  // A release's manifest is a few KB: 16 MB is far past any real one, and /dev/zero is refused instead of read without end.
  const data = readJsonFile(path, {
    what: 'the app manifest',
    fix: 'reinstall @aoagents/ao, or pass --manifest <file>',
    code: 'EAPPMANIFEST',
    maxBytes: 16 << 20,
  }) as {
    app?: unknown;
    targets?: unknown;
  } | null;
  // Either a whole ao-manifest.json (app inside) or a bare app manifest; anything but an object is an invalid one.
  if (data?.app !== undefined) return validateAppManifest(data.app, path);
  if (data === null || typeof data !== 'object' || Array.isArray(data) || data.targets !== undefined) return validateAppManifest(data, path);
  throw new UserError({
    what: `${path} has no desktop app`,
    why: 'its "app" field is missing: this release ships no desktop app',
    fix: 'use the ao CLI alone, or install a release with the desktop app',
    code: 'EAPPMANIFEST',
  });
}

/** A --manifest or --dir as an absolute path (a file: URL is its path); a web address had been "no such file" for --manifest. */
function pathArgument(flag: 'manifest' | 'dir', value: string): string {
  return localPath(value, (why) => {
    throw new UserError({
      what: `--${flag} ${value} is an address, not a ${flag === 'dir' ? 'folder' : 'file'} on this machine`,
      why,
      fix:
        flag === 'manifest'
          ? `download it first (curl -fLo ao-manifest.json '${value}'), then pass --manifest ao-manifest.json`
          : 'pass --dir a folder on this machine, like --dir ~/ao-app',
      code: 'EUSAGE',
    });
  });
}

/** "the desktop app is 0.9.0, intact, not release 0.10.0", naming the targets when they differ (a Mac migrated to another CPU). */
function otherReleaseText(other: { version: string; target: string }, release: string, targetId: string): string {
  const onOther = other.target !== targetId;
  return `the desktop app is ${other.version}${onOther ? ` for ${other.target}` : ''}, intact, not release ${release}${onOther ? ` for ${targetId}` : ''}`;
}

/** What gives back an intact app whatever verify found: install re-hashes the installed version and replaces a damaged one. */
const REINSTALL = 'ao-app install (it downloads the app again and replaces the damaged version)';

const OPTIONS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  manifest: { type: 'string' },
  target: { type: 'string' },
  dir: { type: 'string' },
} as const;

let jsonErrors = false;

/**
 * Everything ao-app prints goes through these two: a URL in a message (AO_APP_BASE_URL, a manifest's,
 * a proxy's) may carry a password or a token, and none is ever printed.
 * Output that cannot be written ends nothing (`ao-app install --json | head -n 1`, `> log` on a full disk, a
 * closed terminal): the install finishes and its exit code tells; a lost stdout is said once on stderr.
 */
const stderr = redactingSink(
  process.stderr,
  writesThatNeverFail(process.stderr, () => undefined),
);
/** Why stdout could not be written (ENOSPC, EIO), once that happened; not a reader gone (EPIPE). */
let stdoutLost: string | undefined;
const stdout = redactingSink(
  process.stdout,
  writesThatNeverFail(process.stdout, (code) => {
    stdoutLost = code;
    stderr.write(`ao-app: cannot write its output to stdout (${code}); it goes on without it, and its exit code still tells how it ended\n`);
  }),
);

/**
 * Output going to files, not a terminal (nohup's nohup.out, `ao-app install > log 2>&1 &`, /dev/null): the terminal
 * closing does not end the install. Node resets an ignored SIGHUP to its default at start-up, so nohup alone had not
 * kept a download alive. A pipe does not count: its reader (`| tee log`) dies with the terminal, and an ao-app left
 * running there would hold the lock, unseen, for the user's next run.
 */
function outputOnFiles(): boolean {
  return [1, 2].every((fd) => {
    try {
      const info = fstatSync(fd);
      return info.isFile() || (info.isCharacterDevice() && !isatty(fd));
    } catch {
      return false;
    }
  });
}
const hangUpIgnored = outputOnFiles();
if (hangUpIgnored) process.on('SIGHUP', () => undefined);
cleanUpWhenInterrupted(hangUpIgnored ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP']);

/** A duration in ms from the environment; a value that is not a positive number is refused, not read as 0 or NaN. */
function msFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (!raw) return undefined;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new UserError({
      what: `${name}=${raw} is not a duration`,
      why: 'it must be a positive number of milliseconds',
      fix: `${clearEnvFor(process.platform, name)}, or ${setEnvFor(process.platform, name, '30000')}`,
      code: 'EUSAGE',
    });
  return ms;
}

async function main(argv: string[]): Promise<number> {
  jsonErrors = argv.includes('--json');
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  // An empty value (a script's `--dir "$APP_DIR"` with APP_DIR unset) names nothing: read as absent, `remove --dir ""`
  // had removed the app in the default folder.
  const empty = (['dir', 'manifest', 'target'] as const).find((name) => values[name] === '');
  if (empty) return usageError(`--${empty} was given an empty value`);
  // Every verb takes flags only: `ao-app remove ~/other-app` (meaning --dir) or `ao-app install 0.9.0` would do
  // something else than asked, and say it was done.
  if (positionals.length > 1) return usageError(`unexpected argument ${JSON.stringify(positionals[1])} (ao-app ${positionals[0]} takes flags only)`);
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0];
  const root = values.dir ? pathArgument('dir', values.dir) : defaultRoot();
  const say = (human: string, json: Record<string, unknown>) => {
    if (values.json) stdout.write(`${JSON.stringify(json)}\n`);
    else if (!values.quiet) stdout.write(`${human}\n`);
  };
  try {
    return await runVerb(command, root, values, say);
  } catch (err) {
    throw fileSystemProblem(err, command ?? '', root);
  }
}

const DOING: Record<string, string> = {
  install: 'cannot install the desktop app into',
  remove: 'cannot remove the desktop app from',
  verify: 'cannot check the desktop app in',
};

/**
 * The one place a command's file-system errors (a file where its folder should be, a folder it may not
 * write, a full disk, EIO) become what a person reads; the download and the unpack say theirs more precisely.
 */
function fileSystemProblem(err: unknown, command: string, root: string): unknown {
  if (isUserError(err) || !isFileSystemError(err)) return err;
  return fileSystemFailure(err, {
    what: `${DOING[command] ?? 'cannot use the desktop app folder'} ${root}`,
    whatWhenFull: `the disk holding ${root} is full`,
    where: (err as { dest?: string }).dest ?? err.path ?? root,
    again: `then run ao-app ${command} again${command === 'install' ? ' (a download already verified is not fetched again)' : ''}`,
  });
}

type Say = (human: string, json: Record<string, unknown>) => void;

async function runVerb(
  command: string | undefined,
  root: string,
  values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'],
  say: Say,
): Promise<number> {
  // Said on stderr (stdout keeps the one result line under --json): a wait for another ao-app's lock.
  const note = (message: string) => {
    if (!values.quiet) stderr.write(`ao-app: ${message}\n`);
  };
  switch (command) {
    case 'install': {
      const stallTimeoutMs = msFromEnv('AO_APP_STALL_MS');
      const deadlineMs = msFromEnv('AO_APP_DEADLINE_MS');
      // Test builds only (common/test-hooks.ts): parks the command at a step, holding its lock.
      const checkpointAt = TEST_HOOKS ? process.env.AO_APP_CHECKPOINT : undefined;
      const result = await installApp({
        manifest: loadManifest(values.manifest),
        target: values.target,
        root,
        progress: createProgress('desktop app', { mode: pickProgressMode(values), stream: stderr, jsonStream: stdout }),
        stallTimeoutMs,
        // Only an app for this machine is one `ao start` here can open.
        stateDir: (values.target ?? hostTargetId()) === hostTargetId() ? aoStateDir() : undefined,
        deadlineMs,
        checkpoint: async (step) => {
          if (step !== checkpointAt) return;
          stderr.write(`ao-app: parked at ${step}\n`);
          // A timer keeps the process alive while parked (a bare pending promise would let it exit).
          await new Promise(() => setInterval(() => undefined, 60_000));
        },
      });
      const left = (result.leftBehind ?? []).map(
        ({ path, why }) =>
          `; ${path} could not be removed yet (${why}: Windows keeps a running program's files): close the desktop app; the next ao-app install removes it`,
      );
      say(
        (result.status === 'installed'
          ? `installed the desktop app ${result.version} at ${result.path}`
          : `the desktop app ${result.version} is already installed at ${result.path}`) + left.join(''),
        { event: 'result', ...result },
      );
      return 0;
    }
    case 'verify': {
      const manifest = loadManifest(values.manifest);
      const result = await verifyApp({ manifest, target: values.target, root, onLockWait: note });
      // verifyApp validated the manifest: its version is a release's.
      const manifestVersion = manifest.version;
      if (result.ok) {
        say(`the desktop app at ${result.path} is intact`, result as unknown as Record<string, unknown>);
        return 0;
      }
      const targetId = values.target ?? hostTargetId();
      const other = result.otherRelease;
      // Another release, every file as installed: one to put in its place, not a repair.
      const mismatch = other ? [`installed ${other.version} (${other.target}) is not release ${manifestVersion} (${targetId})`] : [];
      const problems = [...mismatch, ...result.problems];
      const failure: Failure =
        result.path === undefined
          ? notInstalled(root)
          : other && result.problems.length === 0
            ? {
                code: 'EAPPOUTDATED',
                what: otherReleaseText(other, manifestVersion, targetId),
                why: mismatch[0]!,
                fix: `ao-app install (it installs release ${manifestVersion} in its place)`,
              }
            : { code: 'EAPPDAMAGED', what: 'the desktop app is not intact', why: problems.join('; '), fix: REINSTALL };
      // An outdated app is said in one line; one not installed says where it was looked for; a damaged one lists what is wrong.
      const details = failure.code === 'EAPPOUTDATED' ? '' : `:\n  ${failure.code === 'EAPPNOTINSTALLED' ? failure.why : problems.join('\n  ')}`;
      say(`${failure.what}${details}\nfix: ${failure.fix}`, { ...result, problems } as unknown as Record<string, unknown>);
      if (values.json) writeJsonError(failure);
      return 1;
    }
    case 'where': {
      const path = await appPath(root);
      say(path ?? 'the desktop app is not installed (run: ao-app install)', { path: path ?? null });
      if (!path && values.json) writeJsonError(notInstalled(root));
      // The path printed is the whole job: one that never reached its file (`ao-app where > path.txt` on a full disk) is a
      // failure. A failed write is reported as an 'error' on the next tick, before this immediate.
      await new Promise((resolve) => setImmediate(resolve));
      return path && stdoutLost === undefined ? 0 : 1;
    }
    case 'remove': {
      const removed = await removeApp(root, aoStateDir(), note);
      if (removed.app) say(`removed the desktop app from ${root}`, { removed: root });
      // Nothing to remove is no failure (the app is gone, as asked), but no "removed" either; an unfinished download deleted
      // (up to the whole app's size) is said, where it had been "nothing to remove".
      else if (removed.download)
        say(`the desktop app is not installed in ${root}; deleted its unfinished download`, { removed: null, notInstalled: root, deletedDownload: true });
      else say(`the desktop app is not installed in ${root}: nothing to remove`, { removed: null, notInstalled: root });
      return 0;
    }
    default:
      return usageError(command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`);
  }
}

interface Failure {
  code: string;
  what: string;
  why: string;
  fix?: string;
}

const notInstalled = (root: string): Failure => ({
  code: 'EAPPNOTINSTALLED',
  what: 'the desktop app is not installed',
  why: `${root} holds no completely installed version`,
  fix: 'ao-app install',
});

/** The line `--json` ends every failure with. */
function writeJsonError(failure: Failure): void {
  stdout.write(`${JSON.stringify({ event: 'error', ...failure })}\n`);
}

/** A command line ao-app cannot read: exit 2, with the usage, and under --json the error line too. */
function usageError(problem: string): number {
  stderr.write(`ao-app: ${problem}\n${USAGE}\n`);
  if (jsonErrors) writeJsonError({ code: 'EUSAGE', what: 'ao-app cannot read its command line', why: problem, fix: 'ao-app --help' });
  return 2;
}

function reportFailure(err: unknown): number {
  stderr.write(`${formatError(err, 'ao-app')}\n`);
  if (jsonErrors)
    writeJsonError(
      err instanceof UserError
        ? { code: err.code, what: err.what, why: err.why, fix: err.fix }
        : { code: 'EINTERNAL', what: 'unexpected error', why: String((err as Error)?.message ?? err) },
    );
  return err instanceof UserError ? 1 : EXIT_INTERNAL;
}

guardUndiciSocketEnd((err) => process.exit(reportFailure(err)));
runCommand('ao-app', () => main(process.argv.slice(2)), reportFailure);
