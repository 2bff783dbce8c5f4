import { describe, expect, it } from 'vitest';
import { versionFromOutput } from '../../common/version-output.js';

describe('versionFromOutput', () => {
  it.each([
    ['ao version 0.10.3\n', '0.10.3'],
    ['0.10.3\n', '0.10.3'],
    ['0.10.3 commit 1a2b3c4 built 2026-11-20T10:00:00Z\n', '0.10.3'],
    ['ao version 0.10.0-rc.1 commit abc built 2026-11-20\n', '0.10.0-rc.1'],
    ['v0.10.3\n', '0.10.3'],
    ['{"version":"0.10.3","commit":"abc"}\n', '0.10.3'],
    ['ao version dev\n', 'dev'],
    ['dev\n', 'dev'],
  ])('%j -> %s', (output, expected) => {
    expect(versionFromOutput(output)).toBe(expected);
  });

  it.each(['', '\n', '{not json', '{"v":1}', 'panic: runtime error: index out of range [3]'])('%j has no version', (output) => {
    expect(versionFromOutput(output)).toBeUndefined();
  });
});
