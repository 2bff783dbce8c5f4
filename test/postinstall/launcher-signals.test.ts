import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../common/paths.js';
import { mustRun, useReleaseRegistry } from './install-support.js';

/**
 * The JS launcher is what pnpm, yarn and bun users always run (their shims
 * exec `node <package>/bin/ao`), so these tests drive that file under Node
 * directly, with the fixture's `trap` hook counting the signals the binary
 * receives. Signals go to the launcher's pid and to its whole process group
 * (as a terminal's Ctrl-C or a supervisor killing a job does).
 */
const SPEC = '@aoagents/ao@0.10.0';
const PNPM = join(REPO_ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
const NODE22 = join(REPO_ROOT, 'node_modules', 'node22', 'bin', 'node');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;
const GO_NAMES: Record<(typeof SIGNALS)[number], string> = {
  SIGINT: 'interrupt',
  SIGTERM: 'terminated',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
};

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether any process of the launcher's group was still alive right after the launcher ended. */
  groupLeft: boolean;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `node <launcher> <args>` as the leader of its own process group and sends `signal` once the binary is ready. */
async function signalled(
  node: string,
  launcher: string,
  env: NodeJS.ProcessEnv,
  args: string[],
  signal: NodeJS.Signals,
  target: 'process' | 'group',
): Promise<Ended> {
  const child = spawn(node, [launcher, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('ready\n')) resolve();
    }),
  );
  child.stderr.on('data', (d) => (stderr += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  const closed = new Promise((resolve) => child.on('close', resolve));
  // `fixture trap` says when its handlers are in place; `fixture sleep` says nothing, so give it time to start.
  await Promise.race([args[1] === 'trap' ? ready : sleep(1500), ended]);
  process.kill(target === 'group' ? -child.pid! : child.pid!, signal);
  const r = await ended;
  const groupLeft = groupAlive(child.pid!);
  if (groupLeft) process.kill(-child.pid!, 'SIGKILL');
  await closed;
  return { ...r, stdout, stderr, groupLeft };
}

const count = (out: string, name: string) => out.split('\n').filter((l) => l === `got ${name}`).length;

describe('signals through the JS launcher', () => {
  const release = useReleaseRegistry();
  let launcher: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    const pnpmHome = join(release.sandbox('pnpm-home-dir').root, 'pnpm-home');
    const sb = release.sandbox('signals', [pnpmHome], { PNPM_HOME: pnpmHome });
    mustRun('node', [PNPM, 'add', '-g', SPEC], sb.env);
    launcher = join(mustRun('node', [PNPM, 'root', '-g'], sb.env).stdout.trim(), '@aoagents', 'ao', 'bin', 'ao');
    env = sb.env;
    // The first run verifies the binary; the signal tests then measure the usual path.
    expect(mustRun('node', [launcher, '--version'], env).stdout).toBe('ao version 0.10.0\n');
  });

  for (const [label, node] of [
    ['Node 20 (no process.execve)', process.execPath],
    ['Node 22 (process.execve)', NODE22],
  ] as const) {
    describe(label, () => {
      for (const signal of SIGNALS) {
        it(`${signal} sent to the launcher reaches the binary exactly once; the launcher waits and exits with its status`, async () => {
          const r = await signalled(node, launcher, env, ['fixture', 'trap', '1500', '5'], signal, 'process');
          expect(r.stderr).not.toContain('Debugger');
          expect(count(r.stdout, GO_NAMES[signal])).toBe(1);
          expect([r.code, r.signal]).toEqual([5, null]);
          expect(r.groupLeft).toBe(false);
        });
      }

      it('a binary that dies of a signal makes the launcher die of it too, leaving no process behind', async () => {
        const r = await signalled(node, launcher, env, ['fixture', 'sleep', '20000'], 'SIGTERM', 'process');
        expect(r.stdout).toBe('got terminated\n');
        expect(r.signal).toBe('SIGTERM');
        expect(r.groupLeft).toBe(false);
      });
    });
  }

  describe('Node 22 (process.execve): signals to the whole group', () => {
    for (const signal of SIGNALS) {
      it(`${signal} sent to the group reaches the binary exactly once`, async () => {
        const r = await signalled(NODE22, launcher, env, ['fixture', 'trap', '1500', '5'], signal, 'group');
        expect(count(r.stdout, GO_NAMES[signal])).toBe(1);
        expect([r.code, r.signal]).toEqual([5, null]);
        expect(r.groupLeft).toBe(false);
      });
    }
  });

  it('Node 20: Ctrl-C in a terminal (SIGINT to the foreground group) reaches the binary exactly once', async () => {
    // script(1) gives the launcher a pseudo-terminal; ^C written to it is the terminal's own SIGINT to the group.
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(launcher)} fixture trap 2500 5; echo "status=$?"`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
    child.stdin.write('\x03');
    await new Promise((resolve) => child.on('close', resolve));
    const lines = out.replace(/\r/g, '').split('\n');
    // The terminal echoes ^C on the line the binary then prints on.
    expect(lines.filter((l) => l.endsWith('got interrupt'))).toHaveLength(1);
    expect(lines).toContain('status=5');
  });
});
