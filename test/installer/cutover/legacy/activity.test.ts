import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findActiveSessions } from '../../../../installer/cutover/legacy/activity.js';
import { put, tempHome } from './helpers.js';

// A private tmux server: the test never sees or touches the machine's own tmux sessions.
const SOCKET = `ao-legacy-test-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const B = '.agent-orchestrator';
const lifecycle = (state: string, runtime = 'alive', pr = 'open') => ({
  version: 2,
  session: { kind: 'worker', state },
  pr: { state: pr },
  runtime: { state: runtime },
});

describe('findActiveSessions', () => {
  let child: ChildProcess;
  let home: string;

  beforeAll(async () => {
    home = tempHome();
    child = spawn('sleep', ['300'], { stdio: 'ignore' });
    await once(child, 'spawn');
    // V1a: {H}-{prefix}-{N}, no tmuxName recorded.
    put(home, `${B}/aaaaaaaaaaaa-app/sessions/ap-1`, 'agent=aider\nproject=app');
    put(home, `${B}/aaaaaaaaaaaa-app/sessions/ap-orchestrator-1`, 'agent=claude-code\nproject=app\nrole=orchestrator');
    put(home, `${B}/aaaaaaaaaaaa-app/sessions/ap-10`, 'agent=aider\nproject=app\nstatus=killed');
    // V1b: {storageKey}-{sessionId}.
    put(home, `${B}/bbbbbbbbbbbb/sessions/bp-2`, 'agent=aider\nproject=bee');
    // V2: {prefix}-orchestrator, which the legacy migration guard missed.
    put(home, `${B}/projects/v2/sessions/vp-orchestrator.json`, JSON.stringify({ lifecycle: lifecycle('working') }));
    // A recorded tmuxName wins over every derived one.
    put(home, `${B}/projects/v2/sessions/vp-3.json`, JSON.stringify({ tmuxName: 'custom-name', lifecycle: lifecycle('working') }));
    // Process runtime with a live pid.
    put(
      home,
      `${B}/projects/v2/sessions/vp-4.json`,
      JSON.stringify({ runtimeHandle: { id: 'p', runtimeName: 'process', data: { pid: child.pid } }, lifecycle: lifecycle('working') }),
    );
    // Finished sessions do not count even when something with their name still runs.
    put(home, `${B}/projects/v2/sessions/vp-5.json`, JSON.stringify({ lifecycle: lifecycle('terminated', 'missing') }));
    put(home, `${B}/projects/v2/sessions/vp-6.json`, JSON.stringify({ lifecycle: lifecycle('working', 'alive', 'merged') }));
    put(home, `${B}/projects/v2/sessions/vp-7.json`, JSON.stringify({ lifecycle: lifecycle('working', 'exited') }));
    put(home, `${B}/aaaaaaaaaaaa-app/sessions/archive/ap-8_2026-04-20T14-30-52-123Z`, 'agent=aider\nproject=app');
    // Not live: nothing runs under any of its names.
    put(home, `${B}/projects/v2/sessions/vp-9.json`, JSON.stringify({ lifecycle: lifecycle('working') }));
    for (const name of [
      'aaaaaaaaaaaa-ap-1',
      'aaaaaaaaaaaa-ap-orchestrator-1',
      'aaaaaaaaaaaa-ap-10',
      'bbbbbbbbbbbb-bp-2',
      'vp-orchestrator',
      'custom-name',
      'vp-5',
      'vp-6',
      'vp-7',
      'aaaaaaaaaaaa-ap-8',
      'vp-9-not-exact',
    ]) {
      tmux('new-session', '-d', '-s', name, 'sleep 300');
    }
  });

  afterAll(() => {
    child?.kill('SIGKILL');
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  });

  it('finds live tmux sessions under every naming era and live process runtimes, and nothing finished', async () => {
    const active = await findActiveSessions({ home, env: { ...process.env, AO_TMUX_SOCKET: SOCKET } });
    expect(active.map((a) => [`${a.projectId}/${a.sessionId}`, a.reason]).sort()).toEqual([
      ['app/ap-1', 'tmux session aaaaaaaaaaaa-ap-1 is live'],
      ['app/ap-orchestrator-1', 'tmux session aaaaaaaaaaaa-ap-orchestrator-1 is live'],
      ['bee/bp-2', 'tmux session bbbbbbbbbbbb-bp-2 is live'],
      ['v2/vp-3', 'tmux session custom-name is live'],
      ['v2/vp-4', `pid ${child.pid} is alive`],
      ['v2/vp-orchestrator', 'tmux session vp-orchestrator is live'],
    ]);
  });

  it('a dead pid, a dead tmux server or an unreadable running.json make nothing active; a live running.json pid does', async () => {
    const quiet = tempHome();
    const dead = spawn('true');
    await once(dead, 'exit');
    put(quiet, `${B}/projects/v2/sessions/vp-4.json`, JSON.stringify({ runtimeHandle: { runtimeName: 'process', data: { pid: dead.pid } } }));
    put(quiet, `${B}/running.json`, JSON.stringify({ pid: dead.pid, port: 3000, projects: ['v2'] }));
    expect(await findActiveSessions({ home: quiet, tmuxSocket: `${SOCKET}-none` })).toEqual([]);
    put(quiet, `${B}/running.json`, '{not json');
    expect(await findActiveSessions({ home: quiet, tmuxSocket: `${SOCKET}-none` })).toEqual([]);
    put(quiet, `${B}/running.json`, JSON.stringify({ pid: child.pid, port: 3000, projects: ['v2'] }));
    expect(await findActiveSessions({ home: quiet, tmuxSocket: `${SOCKET}-none` })).toEqual([
      { sessionId: '', projectId: '', reason: `legacy ao start is running (running.json pid ${child.pid})` },
    ]);
  });

  it('asks an injected tmux probe for each candidate name', async () => {
    const asked: string[] = [];
    const active = await findActiveSessions({
      home,
      tmuxHasSession: async (name) => {
        asked.push(name);
        return name === 'vp-9';
      },
    });
    expect(asked).toContain('aaaaaaaaaaaa-ap-1');
    expect(asked).not.toContain('vp-5');
    expect(active.find((a) => a.sessionId === 'vp-9')?.reason).toBe('tmux session vp-9 is live');
  });
});
