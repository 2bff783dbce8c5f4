import { beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageResult } from '../../release/stage.js';
import { verify } from '../../release/verify.js';
import { stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { corruptedCopy } from './staged-copy.js';

describe('release verify reads Mach-O load commands', () => {
  let staged: StageResult;
  beforeAll(async () => {
    staged = await stageFixtureRelease('0.10.0');
  });

  it('refuses a darwin-arm64 binary without a code signature, naming the fix', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-darwin-arm64', async (dir) => {
      const file = join(dir, 'bin', 'ao');
      const buf = await readFile(file);
      // Turn LC_CODE_SIGNATURE (0x1d) into a command the loader ignores: the binary is now unsigned.
      let at = 32;
      for (let i = 0; i < buf.readUInt32LE(16); i++, at += buf.readUInt32LE(at + 4)) if (buf.readUInt32LE(at) === 0x1d) buf.writeUInt32LE(0x31, at);
      await writeFile(file, buf);
    });
    const err = await verify({ stageDir: bad }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(
      '@aoagents/ao-darwin-arm64: bin/ao (arm64) has no code signature: macOS on Apple silicon kills it at launch; sign it (at least ad-hoc: codesign -s - bin/ao)',
    );
  });
});
