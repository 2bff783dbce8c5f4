import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { integrityOf } from '../../../common/integrity.js';
import { PartialFile, partialPath } from '../../../installer/app/partial-file.js';
import { tempDir } from './helpers.js';

/** This test process's file-size limit (`ulimit -f`), soft side only: `prlimit` is util-linux. */
const fileSizeLimit = (soft: string) => execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${soft}:`]);

describe('the partial download file', () => {
  // The partial is hashed while libuv's pool writes it: what the disk did not take must leave the digest.
  it.runIf(process.platform === 'linux')('after a short write and an error, its digest covers exactly the bytes on disk', async () => {
    const dest = join(await tempDir('partial'), 'app.zip');
    const data = randomBytes(3 << 20);
    const part = await PartialFile.open(dest, data.length, integrityOf(data, 'sha512'));
    await part.begin('http://127.0.0.1/app.zip', undefined, undefined);
    // A 2 MiB write under a 1 MB limit: the kernel takes 1,000,000 bytes, the rest fails with EFBIG.
    fileSizeLimit('1000000');
    try {
      await expect(part.write([data.subarray(0, 1 << 20), data.subarray(1 << 20, 2 << 20)])).rejects.toThrow(/EFBIG/);
    } finally {
      fileSizeLimit('unlimited');
    }
    await part.close();
    expect(part.offset).toBe(1_000_000);
    expect((await readFile(partialPath(dest))).equals(data.subarray(0, 1_000_000))).toBe(true);
    expect(part.digest()).toBe(integrityOf(data.subarray(0, 1_000_000), 'sha512'));
  });
});
