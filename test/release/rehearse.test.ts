import { describe, expect, it } from 'vitest';
import { REHEARSAL_STEPS, formatReport, rehearse, type RehearsalStep } from '../../rehearsal/main.js';
import { canRunRealRewrite } from '../support/real-rewrite.js';
import { shippedForTests } from '../../rehearsal/release-fixture.js';

describe('rehearsal runner', () => {
  it('names the failing step, stops there, and still stops the registry', async () => {
    const startRegistry = REHEARSAL_STEPS.find((s) => s.name === 'start embedded registry')!;
    let ran = false;
    const failing: RehearsalStep = { name: 'desktop app fetch', run: async () => Promise.reject(new Error('artifact server said 503')) };
    const never: RehearsalStep = { name: 'after the failure', run: async () => ((ran = true), 'ran') };
    const { ok, results, ctx } = await rehearse({ steps: [startRegistry, failing, never], log: () => {} });
    expect(ok).toBe(false);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['start embedded registry', true],
      ['desktop app fetch', false],
    ]);
    expect(ran).toBe(false);
    expect(formatReport(results, ctx)).toMatch(/desktop app fetch\s+FAILED.*artifact server said 503/);
    await expect(fetch(`${ctx.registry!.url}-/ping`)).rejects.toThrow();
  });

  it('runs the release steps in order: app pinned before staging, verify before publish, install before app fetch and cutover', () => {
    const names = REHEARSAL_STEPS.map((s) => s.name);
    expect(names.indexOf('verify tarballs')).toBeLessThan(names.indexOf('publish + post-verify'));
    expect(names.indexOf('publish + post-verify')).toBeLessThan(names.indexOf('npm install -g'));
    expect(names.indexOf('desktop app artifacts')).toBeLessThan(names.indexOf('stage'));
    expect(names.indexOf('ao --version')).toBeLessThan(names.indexOf('desktop app fetch'));
    expect(names.indexOf('desktop app fetch')).toBe(names.indexOf('real ao start finds the app') - 1);
    expect(names.slice(-2)).toEqual(['legacy cutover', 'legacy cutover, real']);
  });

  it.runIf(canRunRealRewrite)(
    'the real-rewrite part: refused as unstamped, released with the override, run through the launcher and swapped in',
    async () => {
      const step = (name: string) => REHEARSAL_STEPS.find((s) => s.name === name)!;
      const { ok, results, ctx } = await rehearse({
        steps: [step('start embedded registry'), step('real rewrite 0.10.3')],
        shippedDir: await shippedForTests(),
        log: () => {},
      });
      const detail = results.at(-1)!.detail;
      expect(ok, detail).toBe(true);
      expect(detail).toContain('expected refusal without the override: @aoagents/ao-linux-x64: ');
      expect(detail).toContain('reports version "dev", not 0.10.3');
      expect(detail).toContain('OVERRIDE --allow-unstamped: released unstamped as 0.10.3: linux-x64 reports "dev" (ran)');
      expect(detail).toContain(
        'warning: @aoagents/ao-linux-x64: bin/ao was built from a modified tree (vcs.modified=true at c89414ddb8cf), accepted because the release config sets checks.allowModifiedTree',
      );
      expect(detail).toMatch(/warning: @aoagents\/ao-linux-x64: bin\/ao is not stripped: 23\.1 MB/);
      expect(detail).toMatch(
        /npm install -g --ignore-scripts: ran by launcher \S+\/bin\/ao-launcher; ao version -> "dev"; ao --version -> "ao version dev"; ao doctor --json -> ok=\w+, \d+ failures in \d+ checks/,
      );
      expect(detail).toMatch(
        /npm install -g: ran by native binary \S+\/@aoagents\/ao\/bin\/ao; ao version -> "dev"; ao --version -> "ao version dev"; ao doctor --json -> ok=/,
      );
      expect(formatReport(results, ctx)).toContain('real rewrite 0.10.3');
    },
    300_000,
  );
});
