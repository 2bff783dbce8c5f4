import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../common/paths.js';
import setupTempRoot from '../support/temp-root.js';

describe('temp folders of a test run', () => {
  it('every vitest config puts the run under one temp folder of its own', () => {
    for (const config of ['vitest.config.ts', 'vitest.unit.config.ts', 'vitest.foreign.config.ts']) {
      expect(readFileSync(join(REPO_ROOT, config), 'utf8'), config).toContain("'test/support/temp-root.ts'");
    }
  });

  it('what the tests and their child processes leave in it is gone when the run ends, and the machine tmp is as before', () => {
    const machineTmp = tmpdir();
    const teardown = setupTempRoot();
    let root: string;
    try {
      root = tmpdir();
      expect(root.startsWith(join(machineTmp, 'ao-tests-'))).toBe(true);
      expect(statSync(root).mode & 0o7777).toBe(0o1777);
      const left = mkdtempSync(join(tmpdir(), 'ao-left-'));
      // A child process inherits the redirection and leaves a folder too.
      const childLeft = execFileSync(
        process.execPath,
        ['-e', "process.stdout.write(require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'ao-child-')))"],
        {
          encoding: 'utf8',
        },
      );
      expect(childLeft.startsWith(root)).toBe(true);
      expect(existsSync(left)).toBe(true);
    } finally {
      teardown();
    }
    expect(existsSync(root)).toBe(false);
    expect(tmpdir()).toBe(machineTmp);
  });
});
