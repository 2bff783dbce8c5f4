import { describe, expect, it } from 'vitest';
import { loadMatrix } from '../../common/matrix.js';
import { REAL_REWRITE_TARGET, realRewriteMatrix, realRewriteTarget } from '../../rehearsal/real-release.js';

describe('the real rewrite release (rehearsal)', () => {
  it('puts the real binary under the linux-x64 target of matrix.json', () => {
    expect(realRewriteTarget(realRewriteMatrix())).toMatchObject({ id: 'linux-x64', os: 'linux', cpu: 'x64', executable: 'ao' });
  });

  it('a matrix.json without linux-x64 gets an error that names the missing target and what to do, not a TypeError', () => {
    const matrix = loadMatrix();
    const withoutIt = { ...matrix, targets: matrix.targets.filter((t) => t.id !== REAL_REWRITE_TARGET) };
    expect(() => realRewriteTarget(realRewriteMatrix(withoutIt))).toThrow(
      'matrix.json has no linux-x64 target to put the real binary under (the rewrite published its binary for linux-x64 only): put the linux-x64 target back into matrix.json',
    );
  });
});
