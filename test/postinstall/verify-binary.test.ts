import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { digestFile } from '../../common/integrity.js';
import { isUserError } from '../../common/errors.js';
import { stampPath } from '../../postinstall/locations.js';
import type { BinaryEntry } from '../../common/ao-manifest.js';
import { checkBinary, verifyBinaryOnce, writeStamp } from '../../postinstall/verify-binary.js';
import { hostFixtureBinary } from '../../rehearsal/fixture-binaries.js';

const release = { name: '@aoagents/ao', version: '0.10.0' };
const reinstall = () => 'npm uninstall -g @aoagents/ao && npm install -g @aoagents/ao@0.10.0';

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!isUserError(err)) throw err;
    return err.code;
  }
}

describe('verifying a platform binary once per file state', () => {
  let dir: string;
  let binary: string;
  let entry: BinaryEntry;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ao-verify-'));
    binary = join(dir, 'ao');
    copyFileSync(await hostFixtureBinary('0.10.0'), binary);
    const d = await digestFile(binary);
    entry = {
      package: '@aoagents/ao-linux-x64',
      version: '0.10.0',
      os: 'linux',
      cpu: 'x64',
      path: 'bin/ao',
      format: 'elf',
      integrity: d.integrity,
      size: d.size,
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // prlimit is util-linux; the limit is this test process's own, soft side only, and put back.
  it.runIf(process.platform === 'linux')('a stamp the disk refuses (a file-size limit) leaves no temp file behind, run after run', () => {
    const cache = join(dir, 'cache-full');
    const limit = (soft: string) => execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${soft}:`]);
    limit('10');
    try {
      for (let i = 0; i < 3; i++) expect(codeOf(() => verifyBinaryOnce(binary, entry, release, () => '0.10.0', reinstall, cache))).toBeUndefined();
    } finally {
      limit('unlimited');
    }
    expect(readdirSync(dirname(stampPath(statSync(binary), cache)))).toEqual([]);
  });

  it('accepts the released bytes and leaves a stamp for the next launch', () => {
    const cache = join(dir, 'cache1');
    expect(codeOf(() => verifyBinaryOnce(binary, entry, release, () => '0.10.0', reinstall, cache))).toBeUndefined();
    expect(existsSync(stampPath(statSync(binary), cache))).toBe(true);
  });

  it('a stamp recorded for another release hash does not vouch for this one', () => {
    const cache = join(dir, 'cache2');
    verifyBinaryOnce(binary, entry, release, () => '0.10.0', reinstall, cache);
    const other = { ...entry, integrity: 'sha512-' + Buffer.alloc(64).toString('base64') };
    expect(codeOf(() => verifyBinaryOnce(binary, other, release, () => '0.10.0', reinstall, cache))).toBe('EAOINTEGRITY');
  });

  it('refuses a same-size file with one byte changed after it was stamped', () => {
    const cache = join(dir, 'cache3');
    const copy = join(dir, 'ao-altered');
    copyFileSync(binary, copy);
    verifyBinaryOnce(copy, entry, release, () => '0.10.0', reinstall, cache);
    const bytes = readFileSync(copy);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(copy, bytes);
    expect(codeOf(() => verifyBinaryOnce(copy, entry, release, () => '0.10.0', reinstall, cache))).toBe('EAOINTEGRITY');
  });

  // umask 002 (a shared-group setup) made the stamp group-writable: any member of the group could rewrite it in
  // place, still owned by this user, to vouch for an altered binary.
  it('a stamp others may write is no proof: written private under umask 002, and a group-writable one is not believed', () => {
    const cache = join(dir, 'cache-umask');
    const copy = join(dir, 'ao-group');
    copyFileSync(binary, copy);
    const umask = process.umask(0o002);
    try {
      verifyBinaryOnce(copy, entry, release, () => '0.10.0', reinstall, cache);
    } finally {
      process.umask(umask);
    }
    expect(statSync(stampPath(statSync(copy), cache)).mode & 0o077).toBe(0);
    // A group member alters the binary and rewrites the (group-writable) stamp to match it.
    const bytes = readFileSync(copy);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(copy, bytes);
    writeStamp(statSync(copy), entry, cache);
    chmodSync(stampPath(statSync(copy), cache), 0o664);
    expect(codeOf(() => verifyBinaryOnce(copy, entry, release, () => '0.10.0', reinstall, cache))).toBe('EAOINTEGRITY');
  });

  it('explains a version skew between launcher and platform package', () => {
    const skewed = { ...entry, size: entry.size + 1 };
    expect(codeOf(() => verifyBinaryOnce(binary, skewed, release, () => '0.9.6', reinstall, join(dir, 'cache4')))).toBe('EAOSKEW');
  });

  it('a binary with the right hash but built for another OS fails the format check', () => {
    expect(checkBinary(binary, { ...entry, os: 'darwin' })?.kind).toBe('format');
    expect(checkBinary(binary, { ...entry, cpu: 'arm64' })?.kind).toBe('format');
  });
});
