import { describe, expect, it } from 'vitest';
import { REHEARSAL_STEPS, formatReport, rehearse, type RehearsalStep } from '../../release/rehearse.js';

describe('rehearsal runner', () => {
  it('names the failing step, stops there, and still stops the registry', async () => {
    const startRegistry = REHEARSAL_STEPS.find((s) => s.name === 'start embedded registry')!;
    let ran = false;
    const failing: RehearsalStep = { name: 'desktop app fetch', run: async () => Promise.reject(new Error('artifact server said 503')) };
    const never: RehearsalStep = { name: 'after the failure', run: async () => ((ran = true), 'ran') };
    const { ok, results, ctx } = await rehearse({ steps: [startRegistry, failing, never], log: () => {} });
    expect(ok).toBe(false);
    expect(results.map((r) => [r.name, r.ok])).toEqual([['start embedded registry', true], ['desktop app fetch', false]]);
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
    expect(names.slice(-2)).toEqual(['legacy cutover', 'legacy cutover, real']);
  });
});
