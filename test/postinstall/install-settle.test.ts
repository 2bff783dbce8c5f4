import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { whenInstallSettles } from '../../postinstall/install-settle.js';

/** A lookup that always meets a missing platform package, waited on as an install in progress would be: its own error comes out. */
function expectReportedAsMissing(pkg: string): void {
  const missing = new Error('the platform package is missing');
  expect(() =>
    whenInstallSettles(
      pkg,
      () => {
        throw missing;
      },
      (err) => err === missing,
    ),
  ).toThrow(missing);
}

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
    const start = Date.now();
    expectReportedAsMissing(pkg);
    // 2 s of quiet after the folders were made; far less than the 60 s a whole wait takes, even on a busy machine.
    expect(Date.now() - start).toBeLessThan(20_000);
  });

  // A file beside ao in its scope folder (Finder's .DS_Store; the tarball beside a folder installed with `npm i -g .`)
  // has no bin folder to look at: the wait had died of ENOTDIR, and ao printed "unexpected error" and a stack trace
  // where it should have said what is missing and how to fix it.
  it('a file beside ao in its scope folder: a broken install is still reported as itself', () => {
    const pkg = join(root, 'with-file', 'node_modules', '@aoagents', 'ao');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(dirname(pkg), '.DS_Store'), '');
    expectReportedAsMissing(pkg);
  });
});
