import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pacote from 'pacote';
import { renameWithRetry } from '../../common/fs-atomic.js';
import { machoProblems, readMacho } from '../../common/macho.js';
import { CACHE_DIR } from '../../common/paths.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';

/**
 * Third-party darwin binaries with known load commands: esbuild's Go binaries
 * (pinned by integrity). Expected values read with `llvm-objdump-14 --macho
 * --private-headers`: both LC_BUILD_VERSION minos 11.0; only arm64 has
 * LC_CODE_SIGNATURE (Go's linker ad-hoc signs darwin/arm64 only).
 */
const ESBUILD = {
  'darwin-arm64': 'sha512-N3zl+lxHCifgIlcMUP5016ESkeQjLj/959RxxNYIthIg+CQHInujFuXeWbWMgnTo4cp5XVHqFPmpyu9J65C1Yg==',
  'darwin-x64': 'sha512-HQ9ka4Kx21qHXwtlTUVbKJOAnmG1ipXhdWTmNXiPzPfWKpXqASVcWdnf2bnL73wgjNrFXAa3yYvBSd9pzfEIpA==',
} as const;

async function esbuildBinary(target: keyof typeof ESBUILD): Promise<string> {
  const root = join(CACHE_DIR, 'macho', `esbuild-${target}-0.25.12`);
  const binary = join(root, 'bin', 'esbuild');
  if (existsSync(binary)) return binary;
  const tmp = `${root}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(CACHE_DIR, 'macho'), { recursive: true });
  await pacote.extract(`@esbuild/${target}@0.25.12`, tmp, { integrity: ESBUILD[target], cache: join(CACHE_DIR, 'npm-cache') });
  await renameWithRetry(tmp, root).catch(() => rm(tmp, { recursive: true, force: true }));
  return binary;
}

/** Offset of the first load command with id `cmd` in a thin 64-bit Mach-O. */
function loadCommandAt(buf: Buffer, cmd: number): number {
  let at = 32;
  for (let i = 0; i < buf.readUInt32LE(16); i++) {
    if (buf.readUInt32LE(at) === cmd) return at;
    at += buf.readUInt32LE(at + 4);
  }
  throw new Error(`no load command 0x${cmd.toString(16)}`);
}

describe('Mach-O load commands', () => {
  it("reads esbuild's published darwin binaries: cpu, minimum macOS, and the arm64 ad-hoc signature", async () => {
    const arm = await esbuildBinary('darwin-arm64');
    const x64 = await esbuildBinary('darwin-x64');
    expect(readMacho(arm)).toEqual([{ cpu: 'arm64', minOs: '11.0', signature: 'adhoc' }]);
    expect(readMacho(x64)).toEqual([{ cpu: 'x64', minOs: '11.0', signature: 'none' }]);
    expect(machoProblems(arm, 'arm64')).toEqual([]);
    expect(machoProblems(x64, 'x64')).toEqual([]);
    expect(machoProblems(x64, 'arm64')).toEqual([`${x64} holds x64, not arm64`]);
  });

  it("reads the fixture's darwin binaries, and refuses an arm64 one whose signature is gone or damaged", async () => {
    const bins = await fixtureBinaries('0.10.0');
    const arm = join(bins, 'darwin-arm64', 'ao');
    const [armSlice] = readMacho(arm);
    expect(armSlice).toEqual({ cpu: 'arm64', minOs: '11.0', signature: 'adhoc' });
    expect(readMacho(join(bins, 'darwin-x64', 'ao'))[0]).toMatchObject({ cpu: 'x64', signature: 'none' });
    expect(machoProblems(arm, 'arm64')).toEqual([]);
    expect(machoProblems(join(bins, 'darwin-x64', 'ao'), 'x64')).toEqual([]);

    const dir = mkdtempSync(join(tmpdir(), 'ao-macho-'));
    try {
      const buf = readFileSync(arm);
      const sig = loadCommandAt(buf, 0x1d);
      // The load command gone (its id turned into one the loader ignores).
      const unsigned = Buffer.from(buf);
      unsigned.writeUInt32LE(0x31, sig);
      writeFileSync(join(dir, 'unsigned'), unsigned);
      // The command kept but the signature blob zeroed.
      const damaged = Buffer.from(buf);
      damaged.fill(0, buf.readUInt32LE(sig + 8), buf.readUInt32LE(sig + 8) + 16);
      writeFileSync(join(dir, 'damaged'), damaged);
      for (const name of ['unsigned', 'damaged']) {
        const file = join(dir, name);
        expect(readMacho(file)[0]!.signature, name).toBe('none');
        expect(machoProblems(file, 'arm64'), name).toEqual([
          `${file} (arm64) has no code signature: macOS on Apple silicon kills it at launch; sign it (at least ad-hoc: codesign -s - ${file})`,
        ]);
      }
      copyFileSync(join(bins, 'linux-x64', 'ao'), join(dir, 'elf'));
      expect(machoProblems(join(dir, 'elf'))).toEqual([`${join(dir, 'elf')} is not a readable Mach-O executable: not a 64-bit little-endian Mach-O`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
