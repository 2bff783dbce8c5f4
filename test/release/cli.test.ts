import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../release/cli.js';
import type { StageResult } from '../../release/stage.js';
import { stageFixtureRelease } from '../support/release-fixture.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MATRIX_PATH, RELEASE_CONFIG_PATH } from '../../common/paths.js';
import { canRunRealRewrite, realRewriteBinary } from '../support/real-rewrite.js';

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
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^verified 7 packages of 0.10.0\n(  [a-z0-9-]+: go1\.\d+\.\d+ example\.invalid\/ao-fixture\/cmd\/ao, [\d,]+ bytes\n){6}$/);
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

describe.runIf(canRunRealRewrite)('release cli on the real 0.10.3 binary, with a matrix file that releases linux-x64 only', () => {
  afterEach(() => vi.restoreAllMocks());

  it('stage refuses it as unstamped; --allow-unstamped dev stages it and every later command prints the override', async () => {
    const work = await mkdtemp(join(tmpdir(), 'ao-cli-real-'));
    const matrix = JSON.parse(await readFile(MATRIX_PATH, 'utf8'));
    for (const t of matrix.targets) if (t.id !== 'linux-x64') t.released = false;
    delete matrix.$schema;
    await writeFile(join(work, 'matrix.json'), JSON.stringify(matrix));
    const config = JSON.parse(await readFile(RELEASE_CONFIG_PATH, 'utf8'));
    config.checks.allowModifiedTree = true;
    delete config.$schema;
    await writeFile(join(work, 'release.json'), JSON.stringify(config));
    await mkdir(join(work, 'bins', 'linux-x64'), { recursive: true });
    await copyFile(await realRewriteBinary(), join(work, 'bins', 'linux-x64', 'ao'));
    const common = ['--version', '0.10.3', '--binaries', join(work, 'bins'), '--matrix', join(work, 'matrix.json'), '--config', join(work, 'release.json'), '--out', join(work, 'stage')];

    const refused = await cli(['stage', ...common]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('why: @aoagents/ao-linux-x64: ');
    expect(refused.err).toContain('reports version "dev", not 0.10.3');
    expect(refused.err).toContain('stage again with --allow-unstamped <what they report>');

    const staged = await cli(['stage', ...common, '--allow-unstamped', 'dev']);
    expect(staged.code).toBe(0);
    expect(staged.err).toContain('OVERRIDE --allow-unstamped: released unstamped as 0.10.3: linux-x64 reports "dev" (ran)');
    expect(staged.out).toContain('staged @aoagents/ao@0.10.3');

    const verified = await cli(['verify', '--stage', join(work, 'stage'), '--matrix', join(work, 'matrix.json')]);
    expect(verified.code).toBe(0);
    expect(verified.err).toContain('OVERRIDE --allow-unstamped');
    expect(verified.err).toContain('warning: @aoagents/ao-linux-x64: bin/ao is not stripped');
    expect(verified.out).toBe('verified 2 packages of 0.10.3\n  linux-x64: go1.25.7 github.com/aoagents/agent-orchestrator/backend/cmd/ao at c89414ddb8cf (modified tree), 23,078,286 bytes\n');
  }, 120_000);
});
