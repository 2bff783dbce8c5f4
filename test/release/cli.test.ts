import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../release/cli.js';
import type { StageResult } from '../../release/stage.js';
import { stageFixtureRelease } from '../support/release-fixture.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';

/** Runs the CLI in-process and returns its exit code and what it wrote. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out, err };
}

describe('release cli', () => {
  let staged: StageResult;
  beforeAll(async () => {
    staged = await stageFixtureRelease('0.10.0');
  });
  afterEach(() => vi.restoreAllMocks());

  it('--help lists every command; no command is a usage error', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['stage', 'verify', 'publish', 'promote', 'workflow']) expect(help.out).toContain(`  ${c} `);
    expect((await cli([])).code).toBe(2);
  });

  it('verify prints one human line, or a what/why/fix error', async () => {
    const ok = await cli(['verify', '--stage', stageDirOf(staged)]);
    expect(ok).toMatchObject({ code: 0, out: 'verified 7 packages of 0.10.0\n' });
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-arm64', (dir) => chmod(join(dir, 'bin', 'ao'), 0o644));
    const refused = await cli(['verify', '--stage', bad]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^ao-release: release 0.10.0 failed verification \(1 problem\)\n {2}why: @aoagents\/ao-linux-arm64: bin\/ao is not executable.*\n {2}fix: /);
  });

  it('--json prints one object for machines, errors included', async () => {
    const ok = JSON.parse((await cli(['verify', '--stage', stageDirOf(staged), '--json'])).out);
    expect(ok).toMatchObject({ ok: true, command: 'verify', result: { version: '0.10.0', packages: 7 } });
    const usage = await cli(['promote', '--json']);
    expect(usage.code).toBe(1);
    expect(JSON.parse(usage.out)).toMatchObject({ ok: false, error: { code: 'EUSAGE' } });
  });
});
