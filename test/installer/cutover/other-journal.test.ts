import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCutover } from '../../../installer/cutover/cutover.js';
import { Journal } from '../../../installer/cutover/journal.js';
import { rewritePaths } from '../../../installer/cutover/rewrite.js';
import { generateLegacyHome } from '../../../rehearsal/legacy-home.js';
import { createSandbox } from '../../../rehearsal/sandbox.js';

describe('a journal the other command left behind', () => {
  it('ao-legacy-import recovers an interrupted ao update, then says to run it again and exits non-zero: it imported nothing', async () => {
    const sb = createSandbox({ name: 'other-journal' });
    try {
      generateLegacyHome(sb.home, { projects: 1, sessionsPerProject: 1, seed: 3 });
      // An `ao update` killed during its preflight: nothing changed, so the recovery discards it.
      await Journal.create(rewritePaths(sb.home, sb.env).aoHome, { command: 'update', target: '0.10.0' }, sb.env);
      let text = '';
      const stderr = new Writable({ write: (chunk, _enc, cb) => ((text += chunk), cb()) });
      const code = await runCutover({ mode: 'legacy-import', argv: ['--yes'], target: '0.10.0', ao: 'ao', env: sb.env, stderr });
      // Every line is ao-legacy-import's own, naming the ao update it found; none says it starts again.
      expect(text.trim().split('\n')).toEqual([
        expect.stringMatching(/^ao-legacy-import: the interrupted ao update cutover \S+ had changed nothing$/),
        'ao-legacy-import: recovered the interrupted ao update; nothing of this run was done: run ao-legacy-import again',
      ]);
      expect(code).toBe(1);
      expect(await Journal.load(rewritePaths(sb.home, sb.env).aoHome, sb.env)).toBeUndefined();
    } finally {
      sb.cleanup();
    }
  });
});
