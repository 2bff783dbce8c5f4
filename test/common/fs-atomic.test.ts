import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeKilledTempSiblings, tempSiblingPrefix, writeFileAtomic, writeJsonAtomic, renameWithRetry } from '../../common/fs-atomic.js';

describe('atomic file writes', () => {
  it('replaces content whole and leaves no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old');
    await writeJsonAtomic(path, { step: 2 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ step: 2 });
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('keeps the old content and cleans up when the write cannot finish', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'target');
    mkdirSync(path); // a directory cannot be replaced by a file rename
    writeFileSync(join(path, 'inside'), 'keep');
    await expect(writeFileAtomic(path, 'new')).rejects.toThrow();
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('keep');
    expect(readdirSync(dir)).toEqual(['target']);
  });

  it('does not retry errors that waiting cannot fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const started = Date.now();
    await expect(renameWithRetry(join(dir, 'missing'), join(dir, 'x'), 5000)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  // The fallback fetch sweeps a cache other users may share (AO_CACHE_DIR): one of theirs it may not remove must not
  // fail the user's own install.
  it("removing a killed run's temp files and folders skips one it may not remove and removes the rest", () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(dir, 'fetch');
    const dead = spawnSync('true').pid;
    const [folder, file] = [join(dir, `${tempSiblingPrefix(target)}${dead}-a`), join(dir, `${tempSiblingPrefix(target)}${dead}-b`)];
    mkdirSync(folder);
    writeFileSync(join(folder, 'inside'), '');
    writeFileSync(file, '');
    // A folder whose contents this process may not remove: immutable for root, read-only otherwise.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chattr', ['+i', folder]);
    else chmodSync(folder, 0o555);
    try {
      removeKilledTempSiblings(target);
      expect(readdirSync(dir)).toEqual([folder.slice(dir.length + 1)]);
    } finally {
      if (asRoot) execFileSync('chattr', ['-i', folder]);
      else chmodSync(folder, 0o755);
      rmSync(dir, { recursive: true });
    }
  });
});
