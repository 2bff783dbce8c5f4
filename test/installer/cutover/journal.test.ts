import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../common/paths.js';
import { Journal, journalPath, planRecovery, withSignalsDeferred, type JournalData } from '../../../installer/cutover/journal.js';
import { rollbackPlan } from '../../../installer/cutover/rollback.js';

const aoHome = () => mkdtemp(join(tmpdir(), 'ao-journal-'));

/** Runs a real Node process that journals two steps; the env decides where it crashes. */
async function journalChild(
  home: string,
  env: NodeJS.ProcessEnv,
  onStart?: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const entry = join(home, 'child.cjs');
  buildSync({
    stdin: {
      contents: `
        import { Journal, Interrupted } from './installer/cutover/journal.ts';
        const home = process.argv[2];
        const j = await Journal.create(home, { command: 'update', target: '0.10.0' });
        try {
          await j.step('backup', async () => { console.log('in-step'); await new Promise((r) => setTimeout(r, Number(process.env.STEP_MS ?? 0))); return { files: 1 }; });
          await j.step('install', async () => ({ ao: '/x/ao' }));
        } catch (e) { if (e instanceof Interrupted) { console.log('interrupted ' + e.signal); process.exit(130); } throw e; }
      `,
      resolveDir: REPO_ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: entry.replace('.cjs', '.mjs'),
    logLevel: 'silent',
  });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry.replace('.cjs', '.mjs'), home], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (String(d).includes('in-step')) onStart?.(child.pid!);
    });
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

describe('journal', () => {
  it('has a step on disk as started while it runs and done (with its detail) after', async () => {
    const home = await aoHome();
    const j = await Journal.create(home, { command: 'update', target: '0.10.0' });
    let seen: JournalData | undefined;
    await j.step('backup', async () => {
      seen = JSON.parse(await readFile(journalPath(home), 'utf8')) as JournalData;
      return { files: 3 };
    });
    expect(seen!.steps.at(-1)).toMatchObject({ name: 'backup', status: 'started' });
    const after = (await Journal.load(home))!;
    expect(after.data.steps.at(-1)).toMatchObject({ name: 'backup', status: 'done', detail: { files: 3 } });
  });

  it('records a failed step with its error and rethrows', async () => {
    const home = await aoHome();
    const j = await Journal.create(home, { command: 'update', target: '0.10.0' });
    await expect(j.step('install', async () => Promise.reject(new Error('registry down')))).rejects.toThrow('registry down');
    expect((await Journal.load(home))!.record('install')).toMatchObject({ status: 'failed', error: 'registry down' });
  });

  it('an interrupt held by one run is gone once its holders released it: the next run in the process starts clean', async () => {
    const interrupted = await withSignalsDeferred(async () => {
      process.emit('SIGINT', 'SIGINT');
    });
    expect(interrupted.signal).toBe('SIGINT');
    // A later run (the unit suite shares one module graph per worker, as a long-lived caller would) is not stopped by it.
    const j = await Journal.create(await aoHome(), { command: 'update', target: '0.10.0' });
    await expect(j.step('backup', async () => ({ files: 1 }))).resolves.toEqual({ files: 1 });
  });

  it('AO_CUTOVER_CRASH_AT kills the process with SIGKILL at that very checkpoint', async () => {
    const before = await aoHome();
    const r1 = await journalChild(before, { AO_CUTOVER_CRASH_AT: 'install:before' });
    expect(r1.signal).toBe('SIGKILL');
    const j1 = (await Journal.load(before))!;
    expect(j1.data.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['backup:done', 'install:started']);
    expect(planRecovery(j1.data)).toBe('rollback');

    const after = await aoHome();
    const r2 = await journalChild(after, { AO_CUTOVER_CRASH_AT: 'backup:after' });
    expect(r2.signal).toBe('SIGKILL');
    expect((await Journal.load(after))!.data.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['backup:done']);
  });

  it('holds SIGTERM until the running step ends, then stops before the next one', async () => {
    const home = await aoHome();
    const r = await journalChild(home, { STEP_MS: '800' }, (pid) => setTimeout(() => process.kill(pid, 'SIGTERM'), 100));
    expect(r.code).toBe(130);
    expect(r.out).toContain('interrupted SIGTERM');
    const steps = (await Journal.load(home))!.data.steps.map((s) => `${s.name}:${s.status}`);
    expect(steps).toEqual(['backup:done']);
  });

  it('names the file and the fix when the journal is not JSON', async () => {
    const home = await aoHome();
    await Journal.create(home, { command: 'update', target: '0.10.0' });
    await writeFile(journalPath(home), '{ half');
    await expect(Journal.load(home)).rejects.toMatchObject({ code: 'EJOURNAL', fix: expect.stringContaining('ao update') });
  });
});

describe('recovery and rollback decisions', () => {
  const data = (steps: Array<[string, 'started' | 'done' | 'failed']>, extra: Partial<JournalData> = {}): JournalData => ({
    schema: 1,
    id: 'x',
    command: 'update',
    status: 'running',
    startedAt: '',
    target: '0.10.0',
    steps: steps.map(([name, status]) => ({ name: name as never, status, startedAt: '' })),
    rollback: [],
    notUndone: [],
    ...extra,
  });

  it('finishes a cutover whose health check passed, rolls back one that touched the install or store, discards one that only read', () => {
    expect(planRecovery(undefined)).toBe('none');
    expect(
      planRecovery(
        data([
          ['preflight', 'done'],
          ['backup', 'started'],
        ]),
      ),
    ).toBe('discard');
    expect(
      planRecovery(
        data([
          ['preflight', 'done'],
          ['backup', 'done'],
          ['install', 'started'],
        ]),
      ),
    ).toBe('rollback');
    expect(
      planRecovery(
        data([
          ['install', 'done'],
          ['app', 'done'],
          ['import', 'done'],
          ['health', 'started'],
        ]),
      ),
    ).toBe('rollback');
    expect(
      planRecovery(
        data([
          ['install', 'done'],
          ['import', 'done'],
          ['health', 'done'],
        ]),
      ),
    ).toBe('finish');
    expect(planRecovery(data([], { status: 'rolling-back' }))).toBe('rollback');
    expect(planRecovery(data([['health', 'done']], { status: 'done' }))).toBe('none');
  });

  it('undoes only what was touched, daemon first and legacy files proven last', () => {
    expect(rollbackPlan(data([['preflight', 'done']]))).toEqual([]);
    expect(
      rollbackPlan(
        data(
          [
            ['backup', 'done'],
            ['install', 'failed'],
          ],
          { backupDir: '/b' },
        ),
      ),
    ).toEqual(['reinstall-legacy', 'verify-legacy-files']);
    expect(
      rollbackPlan(
        data(
          [
            ['backup', 'done'],
            ['install', 'done'],
            ['import', 'done'],
            ['health', 'failed'],
          ],
          { backupDir: '/b' },
        ),
      ),
    ).toEqual(['stop-daemon', 'restore-store', 'reinstall-legacy', 'verify-legacy-files']);
    // ao-legacy-import never installed anything, so it never reinstalls.
    expect(
      rollbackPlan(
        data(
          [
            ['backup', 'done'],
            ['import', 'failed'],
          ],
          { backupDir: '/b', command: 'legacy-import' },
        ),
      ),
    ).toEqual(['restore-store', 'verify-legacy-files']);
    // A backup that never completed: the run only read, so there is nothing to verify (no false rollback item).
    expect(
      rollbackPlan(
        data(
          [
            ['preflight', 'done'],
            ['backup', 'failed'],
          ],
          { backupDir: '/b' },
        ),
      ),
    ).toEqual([]);
    // A daemon the run started is stopped even when the journal crashed before the health step's record.
    expect(
      rollbackPlan(
        data(
          [
            ['backup', 'done'],
            ['import', 'done'],
            ['health', 'started'],
          ],
          { backupDir: '/b', command: 'legacy-import', daemon: { spawnedPid: 1, port: 2, log: '', spawnedAt: '' } },
        ),
      ),
    ).toEqual(['stop-daemon', 'restore-store', 'verify-legacy-files']);
  });
});
