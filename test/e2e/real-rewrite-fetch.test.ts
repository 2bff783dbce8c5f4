import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { versionFromOutput } from '../../common/version-output.js';
import { canRunRealRewrite, REAL_REWRITE, realRewriteBinary } from '../support/real-rewrite.js';

describe.runIf(canRunRealRewrite)('the real rewrite binary from the registry', () => {
  it('arrives integrity-checked and is the unstamped 0.10.3 build the notes describe', async () => {
    const binary = await realRewriteBinary();
    expect(statSync(binary).size).toBe(REAL_REWRITE.binarySize);
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', env: { ...process.env, HOME: '/nonexistent' } });
    expect(out).toBe('ao version dev\n');
    expect(versionFromOutput(out)).toBe(REAL_REWRITE.reportedVersion);
  }, 120_000);
});
