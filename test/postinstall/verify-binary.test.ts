import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isUserError } from '../../common/errors.js';
import { stampPath } from '../../postinstall/locations.js';
import type { BinaryEntry } from '../../common/ao-manifest.js';
import { checkBinary, verifyBinaryOnce, writeStamp } from '../../postinstall/verify-binary.js';
import { hostFixtureBinary } from '../../rehearsal/fixture-binaries.js';
import { linuxEntryFor } from './support/binary-entry.js';

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
    entry = await linuxEntryFor(binary);
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
    expect(readdirSync(dirname(stampPath(binary, statSync(binary), cache)))).toEqual([]);
  });

  it('accepts the released bytes and leaves a stamp for the next launch', () => {
    const cache = join(dir, 'cache1');
    expect(codeOf(() => verifyBinaryOnce(binary, entry, release, () => '0.10.0', reinstall, cache))).toBeUndefined();
    expect(existsSync(stampPath(binary, statSync(binary), cache))).toBe(true);
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
    expect(statSync(stampPath(copy, statSync(copy), cache)).mode & 0o077).toBe(0);
    // A group member alters the binary and rewrites the (group-writable) stamp to match it.
    const bytes = readFileSync(copy);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(copy, bytes);
    writeStamp(copy, statSync(copy), entry, cache);
    chmodSync(stampPath(copy, statSync(copy), cache), 0o664);
    expect(codeOf(() => verifyBinaryOnce(copy, entry, release, () => '0.10.0', reinstall, cache))).toBe('EAOINTEGRITY');
  });

  // overlayfs with xino puts the layer's number in an inode's high bits: past 2^53, which a JS number cannot hold.
  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
    "files whose inode numbers Node's numbers cannot hold apart (overlayfs with xino) each need a stamp of their own",
    () => {
      const root = join(dir, 'overlay');
      const [lower, upper, merged] = ['lower', 'upper', 'merged'].map((name) => join(root, name)) as [string, string, string];
      for (const d of [lower, upper, merged]) execFileSync('mkdir', ['-p', d]);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', lower]);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', upper]);
      try {
        // The released binary, and one of its size with another byte, side by side in the lower layer.
        const bytes = readFileSync(binary);
        writeFileSync(join(lower, 'ao'), bytes, { mode: 0o755 });
        bytes[bytes.length - 100]! ^= 0xff;
        writeFileSync(join(lower, 'other'), bytes, { mode: 0o755 });
        execFileSync('mkdir', [join(upper, 'u'), join(upper, 'w')]);
        execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper}/u,workdir=${upper}/w,xino=on`, merged]);
        try {
          const [ao, other] = [join(merged, 'ao'), join(merged, 'other')];
          // The premise: as Node's numbers, the two files have one device and one inode.
          expect([statSync(other).dev, statSync(other).ino]).toEqual([statSync(ao).dev, statSync(ao).ino]);
          expect(stampPath(other, statSync(other), join(dir, 'cache-xino'))).not.toBe(stampPath(ao, statSync(ao), join(dir, 'cache-xino')));
          expect(codeOf(() => verifyBinaryOnce(ao, entry, release, () => '0.10.0', reinstall, join(dir, 'cache-xino')))).toBeUndefined();
          expect(codeOf(() => verifyBinaryOnce(other, entry, release, () => '0.10.0', reinstall, join(dir, 'cache-xino')))).toBe('EAOINTEGRITY');
        } finally {
          execFileSync('umount', [merged]);
        }
      } finally {
        execFileSync('umount', [lower]);
        execFileSync('umount', [upper]);
      }
    },
  );

  it('explains a version skew between launcher and platform package', () => {
    const skewed = { ...entry, size: entry.size + 1 };
    expect(codeOf(() => verifyBinaryOnce(binary, skewed, release, () => '0.9.6', reinstall, join(dir, 'cache4')))).toBe('EAOSKEW');
  });

  it('a binary with the right hash but built for another OS fails the format check', () => {
    expect(checkBinary(binary, { ...entry, os: 'darwin' })?.kind).toBe('format');
    expect(checkBinary(binary, { ...entry, cpu: 'arm64' })?.kind).toBe('format');
  });
});
