import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssri from 'ssri';
import { describe, expect, it } from 'vitest';
import { pinnedPackage } from '../../rehearsal/pinned-package.js';

/** A registry-shaped tarball (`package/...`) holding one executable, and its integrity. */
function tarball(dir: string): { spec: string; integrity: string } {
  mkdirSync(join(dir, 'src', 'package', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'src', 'package', 'package.json'), '{"name":"tool","version":"1.0.0"}');
  writeFileSync(join(dir, 'src', 'package', 'bin', 'tool'), '#!/bin/sh\necho tool\n');
  const file = join(dir, 'tool-1.0.0.tgz');
  execFileSync('tar', ['-czf', file, '-C', join(dir, 'src'), 'package']);
  return { spec: `file:${file}`, integrity: ssri.fromData(readFileSync(file), { algorithms: ['sha512'] }).toString() };
}

describe('pinnedPackage', () => {
  it('unpacks once, and repairs a folder an interrupted copy left without the executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-pinned-'));
    const { spec, integrity } = tarball(dir);
    const cache = join(dir, 'cache');
    const unpacked = await pinnedPackage(spec, integrity, cache, 'bin/tool');
    expect(execFileSync(join(unpacked, 'bin', 'tool'), { encoding: 'utf8' })).toBe('tool\n');

    // A copy cut short (a full disk, a kill) leaves package/ with some files and no bin/tool.
    execFileSync('rm', ['-rf', join(unpacked, 'bin')]);
    const again = await pinnedPackage(spec, integrity, cache, 'bin/tool');
    expect(again).toBe(unpacked);
    expect(execFileSync(join(again, 'bin', 'tool'), { encoding: 'utf8' })).toBe('tool\n');
  });

  it('refuses bytes that do not match the pinned integrity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-pinned-'));
    const { spec } = tarball(dir);
    const wrong = ssri.fromData('something else', { algorithms: ['sha512'] }).toString();
    await expect(pinnedPackage(spec, wrong, join(dir, 'cache'), 'bin/tool')).rejects.toMatchObject({ code: 'EINTEGRITY' });
  });
});
