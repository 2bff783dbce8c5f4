import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { pidAlive } from '../../../common/process-identity.js';
import type { BundleSession } from './bundle.js';
import { LEGACY_BASE } from './config.js';
import { readLegacyHome } from './read.js';
import { isObject } from '../../../common/is-object.js';

const run = promisify(execFile);

export interface ActiveSession {
  sessionId: string;
  projectId: string;
  reason: string;
}

export interface ActivityOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Defaults to one `tmux list-sessions` on the socket named by `tmuxSocket` / `$AO_TMUX_SOCKET` (`tmux -L`). */
  tmuxHasSession?: (name: string) => Promise<boolean>;
  tmuxSocket?: string;
}

const TERMINAL_STATUS = new Set(['killed', 'terminated', 'done', 'merged', 'cleanup', 'exited']);

/** Not done/terminated, PR not merged, runtime not missing/exited: the legacy CLI may still be driving it. */
export function isTerminated(s: BundleSession): boolean {
  if (s.archived) return true;
  if (s.status && TERMINAL_STATUS.has(s.status)) return true;
  const lc = s.lifecycle ?? {};
  const session = isObject(lc.session) ? lc.session : {};
  const pr = isObject(lc.pr) ? lc.pr : {};
  const runtime = isObject(lc.runtime) ? lc.runtime : {};
  return session.state === 'terminated' || session.state === 'done' || pr.state === 'merged' || runtime.state === 'missing' || runtime.state === 'exited';
}

/** Every tmux name the session may run under, across the naming eras. */
export function tmuxNamesFor(s: BundleSession, storageKey: string | undefined, configStorageKey: string | undefined): string[] {
  const names = new Set<string>();
  if (s.tmuxName) names.add(s.tmuxName);
  const handle = s.runtimeHandle;
  if (handle && typeof handle.id === 'string' && (handle.runtimeName === undefined || handle.runtimeName === 'tmux')) names.add(handle.id);
  const lifecycleRuntime = isObject(s.lifecycle?.runtime) ? (s.lifecycle!.runtime as Record<string, unknown>) : {};
  if (typeof lifecycleRuntime.tmuxName === 'string') names.add(lifecycleRuntime.tmuxName);
  const id = typeof s.extra.originalId === 'string' ? s.extra.originalId : s.id;
  names.add(id); // V2: {prefix}-{N}, {prefix}-orchestrator
  for (const key of [storageKey, configStorageKey]) if (key) names.add(`${key}-${id}`); // V1a {H}-{prefix}-{N}, V1b {storageKey}-{sessionId}
  return [...names];
}

function processPid(s: BundleSession): number | undefined {
  const data = isObject(s.runtimeHandle?.data) ? (s.runtimeHandle!.data as Record<string, unknown>) : {};
  const pid = typeof data.pid === 'number' ? data.pid : typeof data.pid === 'string' ? Number(data.pid) : NaN;
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function defaultTmuxHasSession(socket: string | undefined, env: NodeJS.ProcessEnv): Promise<(name: string) => Promise<boolean>> {
  let live = new Set<string>();
  try {
    const { stdout } = await run('tmux', [...(socket ? ['-L', socket] : []), 'list-sessions', '-F', '#{session_name}'], { env, timeout: 5000 });
    live = new Set(stdout.split('\n').filter(Boolean));
  } catch {
    // no tmux installed or no server running: no live tmux sessions
  }
  return async (name) => live.has(name);
}

/** Sessions (and the legacy `ao start`) that are running now; the cutover refuses to proceed while any are. */
export async function findActiveSessions(opts: ActivityOptions): Promise<ActiveSession[]> {
  const env = opts.env ?? process.env;
  const legacy = readLegacyHome(opts.home, env);
  const active: ActiveSession[] = [];

  try {
    const running = JSON.parse(readFileSync(join(opts.home, LEGACY_BASE, 'running.json'), 'utf8')) as Record<string, unknown>;
    const pid = typeof running.pid === 'number' ? running.pid : NaN;
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
      active.push({ sessionId: '', projectId: '', reason: `legacy ao start is running (running.json pid ${pid})` });
    }
  } catch {
    // no running.json, or unreadable: nothing claims to be running
  }

  const hasSession = opts.tmuxHasSession ?? (await defaultTmuxHasSession(opts.tmuxSocket ?? env.AO_TMUX_SOCKET, env));
  for (const s of legacy.sessions) {
    if (isTerminated(s)) continue;
    const dirName = s.generation === 'v1a' || s.generation === 'v1b' ? dirOf(legacy.base, s.sourcePath) : undefined;
    const storageKey = dirName ? legacy.storageKeyOfDir.get(dirName) : undefined;
    const configKey = legacy.config?.projects.get(s.projectId)?.storageKey;
    const pid = processPid(s);
    if (pid !== undefined && pidAlive(pid)) {
      active.push({ sessionId: s.id, projectId: s.projectId, reason: `pid ${pid} is alive` });
      continue;
    }
    for (const name of tmuxNamesFor(s, storageKey, typeof configKey === 'string' ? configKey : undefined)) {
      if (await hasSession(name)) {
        active.push({ sessionId: s.id, projectId: s.projectId, reason: `tmux session ${name} is live` });
        break;
      }
    }
  }
  return active;
}

/** The V1 dir (first path segment under the base) a session file came from. */
function dirOf(base: string, sourcePath: string): string | undefined {
  const rel = relative(base, sourcePath);
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep)[0];
}
