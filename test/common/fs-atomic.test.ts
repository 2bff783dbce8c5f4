import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic, renameWithRetry } from '../../common/fs-atomic.js';

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
});
