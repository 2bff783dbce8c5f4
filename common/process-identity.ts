import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { procStatFields } from './proc-stat.js';

/**
 * Whether a pid still names the process we recorded. A pid alone does not say: once a process ends its
 * pid is handed to the next one, and a reboot starts the count again, so a lock or a journal that names
 * pid 4242 may be looking at an unrelated program. We record a start id beside the pid and compare.
 * Node built-ins only: this ships inside @aoagents/ao.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let bootId: string | undefined;

/**
 * A string that differs between two processes that held the same pid: on Linux the boot id and the
 * start time in clock ticks (/proc), elsewhere on Unix the start time `ps` reports. Undefined for a pid
 * that names no process, and where neither source exists (Windows).
 */
export function processStartId(pid: number): string | undefined {
  if (process.platform === 'linux') {
    try {
      const startTicks = procStatFields(pid)[19];
      bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      return startTicks ? `${bootId}:${startTicks}` : undefined;
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'win32') return undefined;
  return psStartId(pid);
}

/**
 * The start time `ps` prints (macOS and the BSDs; exported so Linux's procps can test it). `lstart` is local
 * time in the user's locale: a second `ao update` run under another TZ or LANG would read a live holder as
 * another process, so both are fixed.
 */
export function psStartId(pid: number): string | undefined {
  try {
    const env = { ...process.env, LC_ALL: 'C', TZ: 'UTC0' };
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env }).trim();
    return started || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive and, when a start id was recorded for it, still that very process. */
export function recordedProcessAlive(pid: number, startId: string | undefined): boolean {
  return pidAlive(pid) && !processEnded(pid) && sameProcessStart(pid, startId);
}

/**
 * Whether the process `pid` names now is the one `startId` was recorded for (any, when none was). A zombie's start
 * time is still there to compare. Unreadable (another user's process under hidepid): the pid is all we have, so trust it.
 */
export function sameProcessStart(pid: number, startId: string | undefined): boolean {
  if (startId === undefined) return true;
  const now = processStartId(pid);
  return now === undefined || now === startId;
}

/**
 * Linux: a process that ended but that its parent has not reaped yet (state Z: a busy parent, a container whose PID 1 reaps
 * no orphans) still answers kill(0) and has its /proc entry, but never runs again. A lock it held had been waited on.
 */
export function processEnded(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const state = procStatFields(pid)[0];
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}
