import { describe, expect, it, beforeAll } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executableMismatch, inspectExecutable, inspectExecutableBuffer } from '../../common/binary-format.js';
import { loadMatrix } from '../../common/matrix.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';

const matrix = loadMatrix();

describe('executable header reader', () => {
  let bins: string;
  beforeAll(async () => {
    bins = await fixtureBinaries('0.10.0');
  });

  it.each(matrix.targets.map((t) => [t.id, t] as const))('recognises the fixture built for %s', (_id, target) => {
    const path = join(bins, target.id, target.executable);
    const info = inspectExecutable(path);
    expect(info.format).toBe({ darwin: 'macho', linux: 'elf', win32: 'pe' }[target.os]);
    expect(info.cpus).toEqual([target.cpu]);
    expect(executableMismatch(path, target.os, target.cpu)).toBeUndefined();
  });

  it('names the mismatch when a binary sits in the wrong target', () => {
    const linuxArm = join(bins, 'linux-arm64', 'ao');
    expect(executableMismatch(linuxArm, 'linux', 'x64')).toMatch(/is an ELF binary for arm64, expected CPU x64 for linux-x64/);
    expect(executableMismatch(linuxArm, 'darwin', 'arm64')).toMatch(/expected macho for darwin-arm64/);
  });

  it('refuses files that are not executables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fmt-'));
    const script = join(dir, 'ao');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    expect(executableMismatch(script, 'linux', 'x64')).toMatch(/not an executable/);
    // A Java class file shares the universal Mach-O magic.
    const klass = Buffer.alloc(64);
    klass.writeUInt32BE(0xcafebabe, 0);
    klass.writeUInt32BE(0x00000041, 4);
    expect(() => inspectExecutableBuffer(klass)).toThrow(/not an ELF, Mach-O or PE/);
  });

  it('reads a universal Mach-O header', () => {
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(2, 4);
    fat.writeUInt32BE(0x01000007, 8);
    fat.writeUInt32BE(0x0100000c, 28);
    expect(inspectExecutableBuffer(fat)).toEqual({ format: 'macho', cpus: ['x64', 'arm64'] });
  });
});
