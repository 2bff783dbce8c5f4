import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPlan } from '../../common/archive-plan.js';
import { OUT_DIR, REPO_ROOT } from '../../common/paths.js';

// The check is synchronous: a regression would hold this process's event loop (vitest's timeout included) for minutes,
// so it runs in a Node of its own, on the module bundled from source, killed if it has not answered in time.
const MODULE = join(OUT_DIR, 'archive-plan-test', `${process.pid}`, 'archive-plan.mjs');

beforeAll(async () => {
  await build({
    entryPoints: [join(REPO_ROOT, 'common', 'archive-plan.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: MODULE,
    logLevel: 'error',
  });
});

/** `ao-desktop/run`, then 30 links each naming the next one twice (`l0 -> l1/../l1`), the last naming `last`. */
async function planChain(last: string): Promise<{ paths?: string[]; l0?: string; refused?: string }> {
  const script = `
    const { checkPlan } = await import(${JSON.stringify(pathToFileURL(MODULE).href)});
    const n = 30;
    const raw = [
      { path: 'ao-desktop/run', type: 'file', mode: 0o755, size: 10 },
      ...Array.from({ length: n }, (_, i) => ({
        path: 'ao-desktop/l' + i, type: 'symlink', mode: 0o777, size: 0,
        link: i === n - 1 ? ${JSON.stringify(last)} : 'l' + (i + 1) + '/../l' + (i + 1),
      })),
    ];
    try {
      const plan = checkPlan('chain.zip', raw, 1 << 20);
      console.log(JSON.stringify({ paths: plan.map((e) => e.path), l0: plan.find((e) => e.path === 'ao-desktop/l0').link }));
    } catch (err) {
      console.log(JSON.stringify({ refused: err.message }));
    }
  `;
  // 2^30 steps unremembered (~15 minutes); remembered, milliseconds: the bound is far from both.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000, killSignal: 'SIGKILL' });
  return JSON.parse(stdout);
}

describe('checking an archive plan', () => {
  // Followed afresh at every mention, each link doubled the work: a zip of a few KB held ao-app (and the release's check)
  // at 100% CPU for ~15 minutes.
  it('plans a chain of 30 symlinks that each name the next one twice, each followed once', async () => {
    const plan = await planChain('run');
    expect(plan.paths).toEqual(['ao-desktop/run', ...Array.from({ length: 30 }, (_, i) => `ao-desktop/l${i}`)]);
    expect(plan.l0).toBe('l1/../l1');
  });

  it('refuses the same chain when its last link leaves the app', async () => {
    expect((await planChain('../../outside')).refused).toMatch(/symlink "ao-desktop\/l0" points outside the app/);
  });
});

describe('names Windows cannot hold', () => {
  const plan = (name: string, forWindows: boolean) => () =>
    checkPlan(
      'app.zip',
      [
        { path: 'Ao/Ao.exe', type: 'file', mode: 0o644, size: 2 },
        { path: name, type: 'file', mode: 0o644, size: 2 },
      ],
      1 << 20,
      forWindows,
    );
  // Wine writes each of these as a file named as given (a Linux file system under it), where Windows opens the device,
  // drops the trailing dot or space (another file of the app overwritten) or writes an NTFS stream: shown here, not under Wine.
  it.each([
    'Ao/CON',
    'Ao/aux.txt',
    'Ao/Lpt1.log',
    'Ao/nul .json',
    'Ao/com\u00b9',
    'Ao/x.dll.',
    'Ao/x.dll ',
    'Ao/Ao.exe::$DATA',
    'Ao/a:b',
    'Ao/what?.txt',
    'Ao/x<y',
    'Ao/tab\there',
  ])('refuses %j when unpacking on Windows, and takes it elsewhere', (name) => {
    expect(plan(name, true)).toThrow(/cannot be written on Windows/);
    expect(plan(name, false)).not.toThrow();
  });

  it('takes names that only look like devices on Windows', () => {
    for (const name of ['Ao/console.txt', 'Ao/auxiliary', 'Ao/com10', 'Ao/.aux', 'Ao/x.con', 'Ao/nul-x']) expect(plan(name, true)).not.toThrow();
  });
});
