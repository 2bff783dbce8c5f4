import { mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { whenInstallSettles } from '../../postinstall/install-settle.js';

describe('the launcher waiting for an install in progress', () => {
  const root = mkdtempSync(join(tmpdir(), 'ao-settle-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // A folder copied with its times from a machine whose clock runs ahead (`cp -a`, `rsync -a`, an image layer), or
  // `touch -d tomorrow`: its mtime is "just changed" until that hour comes, and a broken install waited 60 s.
  it('a time in the future is no change under way: a broken install is reported once its folders are quiet (2 s), not after 60 s', () => {
    const pkg = join(root, 'node_modules', '@aoagents', 'ao');
    mkdirSync(pkg, { recursive: true });
    const hourAhead = Date.now() / 1000 + 3600;
    utimesSync(dirname(pkg), hourAhead, hourAhead);
    const missing = new Error('the platform package is missing');
    const start = Date.now();
    expect(() =>
      whenInstallSettles(
        pkg,
        () => {
          throw missing;
        },
        (err) => err === missing,
      ),
    ).toThrow(missing);
    // 2 s of quiet after the folders were made; far less than the 60 s a whole wait takes, even on a busy machine.
    expect(Date.now() - start).toBeLessThan(20_000);
  });
});
