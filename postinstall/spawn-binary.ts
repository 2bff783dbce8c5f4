/**
 * Starts the binary where Node cannot exec it in our place (before Node 22.15, Windows).
 * On POSIX it takes the process handle `child_process` itself wraps (process_wrap's `Process`,
 * a native binding: no JS module is loaded for it): loading `child_process` (with net, streams and their
 * dependencies) was the largest single cost of a Node 20 launcher; a 1-line launcher spawning
 * through it took +3.4 to +5.2 ms more wall time here than one using this handle
 * (`bench/launcher.ts`). `process.binding` is deprecated (DEP0111, a warning
 * only under --pending-deprecation, which we keep quiet), but the Node versions that take this
 * path (20, 21, 22 before 22.15) are released and fixed; if the binding is missing or refused
 * (the permission model), or speaks another form (from nodejs/node#63930, in Node 24.21, it takes
 * positional arguments and aborts the process when handed the options object, so it is taken
 * only on Node 20 to 23), `child_process.spawn` does the same job. Windows always takes it.
 */
import type { ChildProcess } from 'node:child_process';
import { binaryNeedsOwnSession, FORWARDED, forwardSignals, mirrorExit, signalNumber } from './signal-forward.js';

export interface StartedBinary {
  kill(signal: NodeJS.Signals): void;
}

interface ProcessHandle {
  onexit: (exitCode: number, signalCode: string) => void;
  spawn(options: object): number;
  kill(signal: number): number;
  close(): void;
}

type ProcessWrap = { Process: new () => ProcessHandle };

/**
 * Node 20 to 23: the lines whose process handle takes the options object `startBinary` passes. Later lines all
 * have process.execve, so they come here only without it (a test removes it), and then spawn through child_process.
 */
const handleTakesOptions = Number(process.versions.node.split('.')[0]) <= 23;

function processWrap(): ProcessWrap | undefined {
  if (process.platform === 'win32' || !handleTakesOptions) return undefined;
  // Already true, and then read-only, under --no-deprecation (NODE_OPTIONS): assigning it threw, and ao never ran.
  const quiet = process.noDeprecation;
  if (!quiet) process.noDeprecation = true;
  try {
    const wrap = (process as NodeJS.Process & { binding(name: string): unknown }).binding('process_wrap') as ProcessWrap | undefined;
    return typeof wrap?.Process === 'function' ? wrap : undefined;
  } catch {
    return undefined;
  } finally {
    if (!quiet) process.noDeprecation = quiet;
  }
}

/**
 * The environment for the binary, listed only where a preload ran (NODE_OPTIONS, or Node's own flags) and may have put
 * another object in place of process.env; without a list libuv hands the child this process's own environment, which
 * process.env writes through to, bytes that are no UTF-8 included. Listing it cost the Node 20 usual path 0.15 ms.
 */
function envPairsIfReplaced(): string[] | undefined {
  if (process.execArgv.length === 0 && !process.env.NODE_OPTIONS) return undefined;
  return Object.entries(process.env).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));
}

/** `binary args` with our stdio, in a session of its own when `detached`; `onExit` gets the code or the signal it ended with, `onError` why it could not start. */
interface BinaryStart {
  binary: string;
  args: string[];
  detached: boolean;
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  onError: (err: Error) => void;
}

function startBinary(start: BinaryStart): StartedBinary {
  const wrap = processWrap();
  if (!wrap) return spawnWithChildProcess(start);
  const { binary, args, detached, onExit, onError } = start;
  const handle = new wrap.Process();
  let running = true;
  handle.onexit = (code, signal) => {
    running = false;
    handle.close();
    onExit(signal ? null : code, (signal || null) as NodeJS.Signals | null);
  };
  const failed = handle.spawn({
    file: binary,
    args: [binary, ...args],
    envPairs: envPairsIfReplaced(),
    stdio: [0, 1, 2].map((fd) => ({ type: 'inherit', fd })),
    detached,
    windowsHide: false,
    windowsVerbatimArguments: false,
  });
  if (failed) {
    const name = process.getBuiltinModule('node:util').getSystemErrorName(failed);
    // After the handlers' turn, as child_process reports it, so the caller's state is in place.
    queueMicrotask(() => onError(Object.assign(new Error(`spawn ${binary} ${name}`), { code: name })));
    return { kill: () => {} };
  }
  // Never after the exit: the pid may be another process's by then.
  return { kill: (signal) => void (running && handle.kill(signalNumber(signal))) };
}

/**
 * Runs `binary args` as this launcher's child and ends as it ends (signal-forward.ts): `signals` forwarded to it, in a
 * session of its own without a terminal. Returns the child, for signals the caller forwards itself. A start that fails
 * takes its handlers away again before `onError` hears why: the caller may go on working synchronously (bin/ao hands
 * over to the full launcher, which may wait for an install), and a Ctrl-C or SIGTERM meanwhile must end it, not wait.
 * Shared by the full launcher and, on Node without process.execve, bin/ao's usual path (bundled into bin/ao: that
 * path never loads the full launcher).
 */
export function runAsChild(binary: string, args: string[], onError: (err: Error) => void, signals: readonly NodeJS.Signals[] = FORWARDED): StartedBinary {
  let child: StartedBinary | undefined;
  const stopForwarding = forwardSignals(() => child, signals);
  const failed = (err: Error) => {
    stopForwarding();
    onError(err);
  };
  try {
    child = startBinary({ binary, args, detached: binaryNeedsOwnSession(), onExit: mirrorExit, onError: failed });
  } catch (err) {
    stopForwarding();
    throw err;
  }
  return child;
}

function spawnWithChildProcess({ binary, args, detached, onExit, onError }: BinaryStart): StartedBinary {
  // Loaded only here: node:child_process (with net and streams) is most of what the spawn costs the launcher.
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child: ChildProcess = spawn(binary, args, { stdio: 'inherit', detached });
  // Also emitted when a later kill fails: only a start that failed is the caller's to hear.
  child.on('error', (err) => child.pid === undefined && onError(err));
  child.on('exit', onExit);
  return { kill: (signal) => void child.kill(signal) };
}
