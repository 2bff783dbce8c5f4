import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../../common/errors.js';
import { pidAlive } from '../../../common/process-identity.js';
import { readRunFile, type RewritePaths } from '../rewrite.js';
import { runCommand } from '../run.js';
import { freePort } from '../../../common/free-port.js';

/**
 * The rewrite's daemon as the real one runs: `ao daemon` in the foreground, which the cutover starts
 * detached on a free port (AO_PORT) with its output in `~/.ao/cutover/daemon-<id>.log`. Healthy means:
 * `running.json` names a live pid on that port, `/healthz` answers as `agent-orchestrator-daemon` with the
 * same pid, then `/readyz` says ready, all under one deadline. The cutover stops only a daemon it started.
 */
export const DAEMON_SERVICE = 'agent-orchestrator-daemon';

/** What the journal keeps about a daemon the cutover started, so a crashed run's recovery can stop it. */
export interface StartedDaemon {
  /** The process the cutover spawned (`ao`; with the JS launcher it is the launcher, not the daemon). */
  spawnedPid: number;
  /** The daemon's own pid, once `running.json` on our port named it. */
  pid?: number;
  port: number;
  log: string;
  spawnedAt: string;
}

export function daemonLog(paths: RewritePaths, id: string): string {
  return join(paths.aoHome, 'cutover', `daemon-${id}.log`);
}

/** Spawns `ao daemon` detached on `port` (a free one by default), its output appended to its log. */
export async function startDaemon(opts: { ao: string; paths: RewritePaths; env: NodeJS.ProcessEnv; id: string; port?: number }): Promise<StartedDaemon> {
  const port = opts.port ?? (await freePort());
  const log = daemonLog(opts.paths, opts.id);
  await mkdir(join(opts.paths.aoHome, 'cutover'), { recursive: true });
  const fd = openSync(log, 'a', 0o600);
  try {
    const child = spawn(opts.ao, ['daemon'], {
      env: { ...opts.env, AO_PORT: String(port) },
      cwd: opts.paths.aoHome,
      detached: true,
      stdio: ['ignore', fd, fd],
      windowsHide: true,
      shell: process.platform === 'win32' && /\.cmd$/i.test(opts.ao),
    });
    const spawned = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    return { spawnedPid: spawned, port, log, spawnedAt: new Date().toISOString() };
  } finally {
    closeSync(fd);
  }
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ') || '(empty log)';
  } catch {
    return '(no log)';
  }
}

/** Waits until the daemon we started is healthy and ready; records its pid through `onPid` as soon as it is known. */
export async function waitHealthy(opts: {
  daemon: StartedDaemon;
  paths: RewritePaths;
  timeoutMs: number;
  onPid?: (pid: number) => Promise<void>;
}): Promise<{ pid: number; port: number }> {
  const { daemon } = opts;
  const deadline = Date.now() + opts.timeoutMs;
  const base = `http://127.0.0.1:${daemon.port}`;
  let stage: 'running.json' | 'healthz' | 'readyz' = 'running.json';
  let last = 'no answer';
  let pid: number | undefined;
  while (Date.now() < deadline) {
    if (!pidAlive(daemon.spawnedPid) && (pid === undefined || !pidAlive(pid))) {
      throw new UserError({
        what: 'the new ao daemon exited during start-up',
        why: `\`ao daemon\` (pid ${daemon.spawnedPid}) is gone; its log says: ${logTail(daemon.log)}`,
        fix: `see ${daemon.log}`,
        code: 'EHEALTH',
      });
    }
    if (stage === 'running.json') {
      const info = await readRunFile(opts.paths.runFile);
      if (info && info.port === daemon.port && pidAlive(info.pid)) {
        pid = info.pid;
        await opts.onPid?.(pid);
        stage = 'healthz';
        continue;
      }
      last = info ? `it names pid ${info.pid} on port ${info.port}, not ours on ${daemon.port}` : 'not written yet';
    } else {
      const res = await getJson(`${base}/${stage}`);
      last = res ? `${res.status} ${JSON.stringify(res.body)}` : 'no answer';
      if (res?.status === 200) {
        if (res.body.service !== DAEMON_SERVICE || res.body.pid !== pid) {
          throw new UserError({
            what: `something else answers on the new daemon's port ${daemon.port}`,
            why: `/${stage} says service ${JSON.stringify(res.body.service)} pid ${JSON.stringify(res.body.pid)}; running.json names ${DAEMON_SERVICE} pid ${pid}`,
            fix: `see ${daemon.log}, then run the update again`,
            code: 'EHEALTH',
          });
        }
        if (stage === 'readyz' && res.body.status === 'ready') return { pid: pid!, port: daemon.port };
        if (stage === 'healthz') {
          stage = 'readyz';
          continue;
        }
      }
    }
    await sleep(100);
  }
  throw new UserError({
    what: `the new ao daemon did not become ready within ${Math.round(opts.timeoutMs / 1000)} s`,
    why: `${stage === 'running.json' ? `${opts.paths.runFile}: ` : `/${stage} last answered: `}${last}`,
    fix: `see ${daemon.log}; a slow machine can pass --ready-timeout <seconds>`,
    code: 'EHEALTH',
  });
}

/**
 * Stops a daemon this cutover started: `ao stop --json` when running.json still names it (never another
 * daemon), then by its recorded pids, TERM then KILL. Throws when it is still alive after that.
 */
export async function stopStartedDaemon(opts: {
  ao?: string;
  daemon: StartedDaemon | undefined;
  paths: RewritePaths;
  env: NodeJS.ProcessEnv;
}): Promise<{ stopped: number[] }> {
  const { daemon } = opts;
  if (!daemon) return { stopped: [] };
  const info = await readRunFile(opts.paths.runFile);
  const ours = info !== undefined && info.port === daemon.port && (daemon.pid === undefined || info.pid === daemon.pid);
  // spawnedPid is 0 when a crash came between recording the port and the spawn.
  const pids = [...new Set([daemon.pid ?? (ours ? info!.pid : undefined), daemon.spawnedPid].filter((p): p is number => p !== undefined && p > 0))];
  const waitGone = async (ms: number) => {
    for (let t = 0; t < ms && pids.some(pidAlive); t += 100) await sleep(100);
  };
  if (ours && opts.ao && pids.some(pidAlive)) {
    await runCommand(opts.ao, ['stop', '--json'], { env: opts.env, timeoutMs: 20_000 });
    await waitGone(5000);
  }
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pids.filter(pidAlive)) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone between the check and the signal.
      }
    }
    await waitGone(5000);
  }
  const alive = pids.filter(pidAlive);
  if (alive.length > 0) throw new Error(`the daemon this cutover started (pid ${alive.join(', ')}) is still running`);
  return { stopped: pids };
}
