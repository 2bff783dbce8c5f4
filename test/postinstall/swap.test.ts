import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BinaryEntry } from '../../common/ao-manifest.js';

import { swapIn } from '../../postinstall/swap.js';
import { linuxEntryFor } from './support/binary-entry.js';

/**
 * The swap puts in the launcher's place the very file the postinstall hashed (its stat then), checked by identity for
 * a hard link: a file put at the binary's path since, or the same file changed since, stays out.
 */
describe.runIf(process.platform !== 'win32')('swapping the hashed binary in', () => {
  let pkg: string;
  let binary: string;
  let entry: BinaryEntry;
  const launcher = () => join(pkg, 'bin', 'ao');
  const swapped = () => statSync(launcher()).ino === statSync(binary).ino;

  beforeEach(async () => {
    pkg = mkdtempSync(join(tmpdir(), 'ao-swap-'));
    mkdirSync(join(pkg, 'bin'));
    writeFileSync(launcher(), '#!/usr/bin/env node\n', { mode: 0o755 });
    mkdirSync(join(pkg, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin'), { recursive: true });
    binary = join(pkg, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
    writeFileSync(binary, Buffer.alloc(4096, 7), { mode: 0o755 });
    entry = await linuxEntryFor(binary);
  });
  afterEach(() => rmSync(pkg, { recursive: true, force: true }));

  it('links the file hashed, unchanged since', () => {
    swapIn(pkg, binary, entry, statSync(binary));
    expect(swapped()).toBe(true);
  });

  it("keeps the launcher when another file was renamed into the binary's place since its hash", () => {
    const hashed = statSync(binary);
    copyFileSync(binary, `${binary}.new`);
    renameSync(`${binary}.new`, binary);
    expect(() => swapIn(pkg, binary, entry, hashed)).toThrow(/changed since it was verified/);
    expect(readFileSync(launcher(), 'utf8')).toBe('#!/usr/bin/env node\n');
  });

  it('keeps the launcher when the file hashed was written in place or its mode changed since', () => {
    const hashed = statSync(binary);
    writeFileSync(binary, Buffer.alloc(4096, 8));
    expect(() => swapIn(pkg, binary, entry, hashed)).toThrow(/changed since it was verified/);
    const again = statSync(binary);
    chmodSync(binary, 0o755);
    expect(() => swapIn(pkg, binary, entry, again)).toThrow(/changed since it was verified/);
    expect(readFileSync(launcher(), 'utf8')).toBe('#!/usr/bin/env node\n');
  });

  it("a killed run's leftover link found after the hash does not stop the swap (the postinstall sweeps before it hashes)", () => {
    // A link a postinstall killed long ago left, named with a pid no process has: removing it would move the ctime.
    linkSync(binary, join(pkg, 'bin', '.ao.swap-999999'));
    swapIn(pkg, binary, entry, statSync(binary));
    expect(swapped()).toBe(true);
  });
});
