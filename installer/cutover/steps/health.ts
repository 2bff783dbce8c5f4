import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../../common/errors.js';
import { runCommand } from '../run.js';

/** Starts the rewrite's daemon and waits for /healthz, then /readyz, under one deadline; checks the version it reports. */
export interface HealthOutcome {
  url: string;
  pid: number;
  version: string;
  sessions?: number;
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export async function healthCheck(opts: { ao: string; aoHome: string; version: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<HealthOutcome> {
  const deadline = Date.now() + opts.timeoutMs;
  const started = await runCommand(opts.ao, ['start'], { env: opts.env, timeoutMs: Math.max(opts.timeoutMs, 20_000) });
  if (started.code !== 0) throw new UserError({ what: 'the new ao daemon did not start', why: `\`ao start\` exited ${started.code}: ${started.stderr.trim().split('\n').slice(-2).join(' | ')}`, code: 'EHEALTH' });
  const info = JSON.parse(await readFile(join(opts.aoHome, 'daemon.json'), 'utf8')) as { url: string; pid: number; version: string };
  let stage = 'healthz';
  let last = 'no answer';
  while (Date.now() < deadline) {
    const res = await getJson(`${info.url.replace(/\/$/, '')}/${stage}`);
    if (res) last = `${res.status} ${JSON.stringify(res.body)}`;
    if (res?.status === 200) {
      if (res.body.version !== opts.version) {
        throw new UserError({ what: 'the running daemon is not the version just installed', why: `/${stage} reports ${String(res.body.version)}, expected ${opts.version}`, fix: 'stop any other ao daemon (`ao stop`) and run `ao update` again', code: 'EHEALTH' });
      }
      if (stage === 'readyz') return { url: info.url, pid: info.pid, version: opts.version, sessions: res.body.sessions as number | undefined };
      stage = 'readyz';
      continue;
    }
    await sleep(100);
  }
  throw new UserError({
    what: `the new ao daemon did not become ready within ${Math.round(opts.timeoutMs / 1000)} s`,
    why: `/${stage} last answered: ${last}`,
    fix: `see ${join(opts.aoHome, 'daemon.log')}; a slow machine can pass --ready-timeout <seconds>`,
    code: 'EHEALTH',
  });
}

/** Stops the daemon: `ao stop` when the binary is there, then makes sure the pid in daemon.json is gone. */
export async function stopDaemon(opts: { ao?: string; aoHome: string; env: NodeJS.ProcessEnv }): Promise<void> {
  if (opts.ao) await runCommand(opts.ao, ['stop'], { env: opts.env, timeoutMs: 20_000 });
  let pid: number | undefined;
  try {
    pid = (JSON.parse(await readFile(join(opts.aoHome, 'daemon.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return;
  }
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
