import type { StartedBinary } from './spawn-binary.js';
import { closeSync, openSync } from 'node:fs';
import { procStatFields } from '../common/proc-stat.js';

/**
 * Signals for a spawned binary, where Node cannot exec it in our place
 * (before Node 22.15, Windows). Every signal that would kill or stop-debug the
 * launcher (SIGQUIT, SIGUSR1 opening Node's inspector, ...) is caught, so the
 * launcher never dies before the binary and never leaves it without a parent,
 * and is sent on to the binary once.
 * Node does not tell a handler who sent a signal, so a signal sent to the whole
 * process group (`kill -TERM -<pgid>`, `timeout`, a supervisor or an agent's
 * harness ending a job) would reach a binary in the launcher's group twice: from
 * the kernel and again from us. Two cases:
 * - With a controlling terminal the binary stays in our group, because the
 *   terminal's job control needs it there: a binary that reads the terminal or
 *   runs an interactive agent on it must be in the foreground group the shell
 *   hands the terminal to (in a group of its own it would be stopped with
 *   SIGTTIN, in a session of its own it would have no terminal), and Ctrl-Z must
 *   stop it with us. The terminal sends Ctrl-C, Ctrl-\ and its hang-up to the
 *   whole foreground group, the binary included, so while we are in that group
 *   those three are taken as the terminal's and not forwarded (Ctrl-C arrives
 *   once). Known limit: `kill -TERM -<pgid>` of such a job still doubles.
 * - Without one (CI, cron, services, agents' tool calls) nothing needs the
 *   binary in our group, so it gets a session of its own (`detached`) and we
 *   forward everything: each signal reaches it once, sent to our pid or our
 *   group. Pipes (`ao | head`), stdin and exit status are unaffected. What it
 *   costs: SIGKILL and SIGSTOP, which no process can catch, sent to our group
 *   reach only us, so a job killed with `kill -KILL -<pgid>` leaves the binary
 *   running (as `kill -KILL <our pid>` does in either case). We judged a double
 *   SIGINT or SIGTERM, which many programs read as "force quit now", the worse
 *   of the two for the common case (a polite signal first, SIGKILL only for a
 *   binary that did not exit). Node >= 22.15 has neither limit: the binary
 *   replaces the launcher (launcher.ts).
 */
export const FORWARDED: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  // A console's Ctrl-Break, which Windows sends to ao.exe as well: unheard, Node's default ended the launcher before it.
  ...(process.platform === 'win32' ? (['SIGBREAK'] as const) : []),
];
const FROM_TERMINAL = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT', 'SIGHUP']);

/** Whether this process is in the foreground process group of a controlling terminal. Asked only when a signal arrives. */
function inTerminalForeground(): boolean {
  try {
    if (process.platform === 'linux') {
      const [, , pgrp, , ttyNr, tpgid] = procStatFields('self').map(Number);
      return ttyNr !== 0 && tpgid === pgrp;
    }
    if (process.platform === 'win32') return false;
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    const [pgid, tpgid] = execFileSync('ps', ['-o', 'pgid=,tpgid=', '-p', String(process.pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .map(Number);
    return tpgid !== undefined && tpgid > 0 && tpgid === pgid;
  } catch {
    return false;
  }
}

/** Whether the spawned binary gets its own session: only when we have no controlling terminal (see above). */
export function binaryNeedsOwnSession(): boolean {
  if (process.platform === 'win32') return false;
  try {
    // Opening /dev/tty fails (ENXIO) exactly when there is no controlling terminal.
    closeSync(openSync('/dev/tty', 'r'));
    return false;
  } catch {
    return true;
  }
}

/**
 * Node opens its inspector on SIGUSR1 while no handler exists, and keeps it open as long as we run: the launcher
 * takes this one from its first moment (a first run hashes the binary before starting it). The others keep their
 * default until the spawn: before the binary runs, a Ctrl-C or SIGTERM should simply end us.
 */
export const INSPECTOR_SIGNAL = 'SIGUSR1';

/**
 * Installs the handlers for `signals`; call it before spawning. The binary can start and be signalled before the
 * line after `spawn` runs (a busy machine can pause us there), and a signal with no handler yet would kill us or
 * open the inspector. Handlers run from the event loop, so by the time one runs `spawn` has returned (and one
 * that arrived earlier is sent on then). Returns what removes them again.
 */
export function forwardSignals(child: () => StartedBinary | undefined, signals: readonly NodeJS.Signals[] = FORWARDED): () => void {
  // Windows: Node hears a signal only as a console's Ctrl-C or close, which Windows sends to every process attached to
  // the console, the binary included; and a child's kill there is TerminateProcess, which had cut the binary's own
  // Ctrl-C shutdown short (exit 1, whatever it was doing). Only listened for there, so Node's default does not end the
  // launcher before the binary: the launcher waits for it.
  const forward =
    process.platform === 'win32'
      ? () => undefined
      : (signal: NodeJS.Signals) => {
          if (FROM_TERMINAL.has(signal) && inTerminalForeground()) return;
          child()?.kill(signal);
        };
  for (const signal of signals) process.on(signal, forward);
  return () => {
    for (const signal of signals) process.removeListener(signal, forward);
  };
}

export const signalNumber = (signal: NodeJS.Signals): number => (process.getBuiltinModule('node:os').constants.signals as Record<string, number>)[signal] ?? 0;

/** The signals Node ignores (SIGPIPE, SIGXFSZ) or answers itself (SIGUSR1, its inspector) while no listener is set. */
const NODE_OWN = new Set<NodeJS.Signals>(['SIGPIPE', 'SIGXFSZ', 'SIGUSR1']);

/** Ends the launcher the way the binary ended, so a shell sees the same status (128+n for a signal). */
export function mirrorExit(code: number | null, signal: NodeJS.Signals | null): void {
  if (!signal) process.exit(code ?? 1);
  // Node ignores SIGPIPE and SIGXFSZ and answers SIGUSR1 with its inspector: a listener's removal leaves the signal at
  // its default (libuv restores SIG_DFL), so the kill ends us as it ended the binary. (A Go binary writing to a pipe
  // whose reader has gone, `ao ... | head`, dies of SIGPIPE.) SIGKILL and SIGSTOP take no listener at all.
  if (NODE_OWN.has(signal)) process.on(signal, () => {});
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  setTimeout(() => process.exit(128 + signalNumber(signal)), 100);
}
