import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * An `ao` call that meets its install half replaced: a package manager upgrading, downgrading or reinstalling ao
 * while an agent or editor calls it (`bun add -g`, `npm i -g --ignore-scripts`) has put ao's new folder in place but
 * not yet its platform package, or still has the other release's there. Reported at once, that transient state reads
 * as a broken install ("optional dependencies were left out", "different releases") with a reinstall to run, which
 * would then race the install in progress. While the install's folders are still changing, the launcher waits for
 * them to settle and looks again; once nothing has changed for QUIET_MS, what it finds is the install's real state.
 * Only the failures an install passes through wait (a binary of another size is one still being written: npm
 * extracts in place); an altered binary (same size, another hash) never does.
 */
const QUIET_MS = 2_000;
/** A package manager that keeps writing longer than this is not one install. */
const MAX_WAIT_MS = 60_000;
const POLL_MS = 100;

/**
 * What a package manager writes while it replaces ao: ao's own folder, its nested node_modules, and each package in
 * the two folders that hold ao's platform package (nested, or beside ao), with its bin folder and binary: npm streams
 * a package's files in place as it downloads, so a binary still growing on a slow network is a change too.
 */
function installPaths(packageDir: string): string[] {
  const scopes = [dirname(packageDir), join(packageDir, 'node_modules', '@aoagents')];
  const packages = scopes.flatMap((scope) => entries(scope).map((name) => join(scope, name)));
  return [
    packageDir,
    join(packageDir, 'bin'),
    join(packageDir, 'lib'),
    join(packageDir, 'node_modules'),
    ...scopes,
    ...packages.flatMap((pkg) => [pkg, join(pkg, 'bin'), join(pkg, 'bin', 'ao'), join(pkg, 'bin', 'ao.exe')]),
  ];
}

function entries(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}

/**
 * How long ago any of those last changed (written, or an entry added, removed or renamed), in ms; Infinity when none
 * did. By ctime, which the kernel sets on every change: an mtime can be anything (an archive's, a folder copied from a
 * machine whose clock runs ahead, `touch -d tomorrow`), and one in the future had held every such failure for the
 * whole wait. A ctime ahead of now (the clock stepped back since) is no change under way either.
 */
function msSinceChanged(packageDir: string, now = Date.now()): number {
  let newest = -Infinity;
  for (const path of installPaths(packageDir)) {
    const st = statIfThere(path);
    if (st && st.ctimeMs <= now) newest = Math.max(newest, st.ctimeMs);
  }
  return now - newest;
}

/** Its lstat, or undefined: a file among the scope's entries (Finder's `.DS_Store`) has no bin folder (ENOTDIR). */
function statIfThere(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * `find()`, again and again while it fails in a way an install in progress explains (`transient`) and ao's folders
 * are still changing; then its answer, or its last error. Says once on stderr that it waits.
 */
export function whenInstallSettles<T>(packageDir: string, find: () => T, transient: (err: unknown) => boolean): T {
  const start = Date.now();
  let told = false;
  for (;;) {
    try {
      return find();
    } catch (err) {
      const quietFor = msSinceChanged(packageDir);
      if (!transient(err) || quietFor >= QUIET_MS || Date.now() - start >= MAX_WAIT_MS) throw err;
      if (!told) {
        // A minute blocked here: a SIGUSR1 would open Node's inspector, a debugging port any local user may reach.
        // Node 22 and later install no handler before their process.execve; one is ours now, ignoring it.
        if (process.platform !== 'win32' && process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', () => {});
        process.stderr.write(`ao: waiting for the install in progress in ${packageDir} to finish (it changed ${Math.max(0, Math.round(quietFor))} ms ago)\n`);
        told = true;
      }
      sleep(POLL_MS);
    }
  }
}
