import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

/**
 * Signals for a spawned binary, where Node cannot exec it in our place
 * (before Node 22.15, Windows). Every signal that would kill or stop-debug the
 * launcher (SIGQUIT, SIGUSR1 opening Node's inspector, ...) is caught, so the
 * launcher never dies before the binary and never leaves it without a parent,
 * and is sent on to the binary once.
 * A terminal sends Ctrl-C, Ctrl-\ and its hang-up to the whole foreground
 * process group, the binary included: forwarding those again would deliver
 * them twice (a second Ctrl-C means "force quit" to many programs). Node does
 * not tell who sent a signal, so when the launcher is in the foreground group
 * of its terminal those three are taken as the terminal's and not forwarded.
 * Without a terminal a signal sent to the whole group still reaches the
 * binary twice here; Node >= 22.15 replaces the launcher with the binary instead.
 */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM'] as const;
const FROM_TERMINAL = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT', 'SIGHUP']);

/** Whether this process is in the foreground process group of a controlling terminal. Asked only when a signal arrives. */
function inTerminalForeground(): boolean {
  try {
    if (process.platform === 'linux') {
      // Fields after "(comm)": state ppid pgrp session tty_nr tpgid.
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const [, , pgrp, , ttyNr, tpgid] = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      return ttyNr !== 0 && tpgid === pgrp;
    }
    if (process.platform === 'win32') return false;
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    const [pgid, tpgid] = execFileSync('ps', ['-o', 'pgid=,tpgid=', '-p', String(process.pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .map(Number);
    return tpgid !== undefined && tpgid > 0 && tpgid === pgid;
  } catch {
    return false;
  }
}

export function forwardSignals(child: ChildProcess): void {
  for (const signal of FORWARDED) {
    process.on(signal, () => {
      if (FROM_TERMINAL.has(signal) && inTerminalForeground()) return;
      child.kill(signal);
    });
  }
}

/** Ends the launcher the way the binary ended, so a shell sees the same status (128+n for a signal). */
export function mirrorExit(code: number | null, signal: NodeJS.Signals | null): void {
  if (!signal) process.exit(code ?? 1);
  const number = (osConstants.signals as Record<string, number>)[signal] ?? 0;
  // SIGUSR1 would start Node's inspector rather than end us: report it as a shell would.
  if (signal !== 'SIGUSR1') {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  setTimeout(() => process.exit(128 + number), 100);
}
