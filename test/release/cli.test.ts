import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../common/paths.js';
import { freePort } from '../../common/free-port.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import type { StageResult } from '../../release/stage.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';
import { copyFile, mkdir } from 'node:fs/promises';
import { MATRIX_PATH, RELEASE_CONFIG_PATH } from '../../common/paths.js';
import { canRunRealRewrite, realRewriteBinary } from '../support/real-rewrite.js';
import { cli, cliJson } from './run-cli.js';

const exec = promisify(execFile);

describe('ao-release', () => {
  let staged: StageResult;
  beforeAll(async () => {
    staged = await stageFixtureRelease('0.10.0');
  });

  it('is a bin of this project, runnable from a checkout', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin['ao-release']).toBe('bin/ao-release.js');
    const { stdout } = await exec(process.execPath, [join(REPO_ROOT, pkg.bin['ao-release']), 'verify', '--stage', stageDirOf(staged)]);
    expect(stdout).toMatch(/^verified 7 packages of 0.10.0\n( {2}[a-z0-9-]+: go1\.\d+\.\d+ example\.invalid\/ao-fixture\/cmd\/ao, [\d,]+ bytes\n){6}$/);
  });

  it('--help lists every command; each command has its own help with examples; no command is a usage error', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['stage', 'verify', 'publish', 'promote', 'status', 'app-manifest', 'bridge', 'workflow']) expect(help.out).toContain(`\n  ${c} `);
    const stage = await cli(['stage', '--help']);
    expect(stage.out).toMatch(
      /^usage: ao-release stage --version <v> --binaries <dir> \[--out <path>\] \[--app <file>\] \[--allow-unstamped <reported>\] \[--matrix <file>\] \[--config <file>\] \[--json\]\n/,
    );
    expect(stage.out).toContain('examples:\n  ao-release stage --version 0.10.0 --binaries dist/\n');
    expect((await cli(['help', 'promote'])).out).toContain('--force-prerelease');
    expect((await cli([])).code).toBe(2);
  });

  it('an unknown flag names the closest known one, as one JSON object with --json', async () => {
    const typo = await cli(['stage', '--versoin', '0.10.0', '--binaries', 'x']);
    expect(typo).toMatchObject({ code: 1, out: '' });
    expect(typo.err).toBe('ao-release: bad arguments for stage\n  why: unknown flag --versoin (did you mean --version?)\n  fix: ao-release stage --help\n');
    const { code, body } = await cliJson(['publish', '--regsitry', 'http://127.0.0.1:9/']);
    expect(code).toBe(1);
    expect(body).toEqual({
      ok: false,
      command: 'publish',
      error: { code: 'EUSAGE', what: 'bad arguments for publish', why: 'unknown flag --regsitry (did you mean --registry?)', fix: 'ao-release publish --help' },
    });
    expect((await cliJson(['promote'])).body.error).toMatchObject({ code: 'EUSAGE', why: 'promote needs --registry <url>' });
    expect((await cliJson(['stauts'])).body.error.why).toContain('unknown command "stauts" (did you mean status?)');
  });

  it("flags may come before the command, as in most CLIs: the flag's value is not taken for the command", async () => {
    const ok = await cli(['--stage', stageDirOf(staged), 'verify']);
    expect(ok.err).toBe('');
    expect([ok.code, ok.out.split('\n')[0]]).toEqual([0, 'verified 7 packages of 0.10.0']);
    // The same for a help topic after a flag with a value.
    expect((await cli(['--matrix', 'matrix.json', 'help', 'verify'])).out).toMatch(/^usage: ao-release verify /);
  });

  it('verify prints one human line, or a what/why/fix error', async () => {
    const ok = await cli(['verify', '--stage', stageDirOf(staged)]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^verified 7 packages of 0.10.0\n( {2}[a-z0-9-]+: go1\.\d+\.\d+ example\.invalid\/ao-fixture\/cmd\/ao, [\d,]+ bytes\n){6}$/);
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-arm64', (dir) => chmod(join(dir, 'bin', 'ao'), 0o644));
    const refused = await cli(['verify', '--stage', bad]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^ao-release: release 0.10.0 failed verification \(1 problem\)\n {2}why: @aoagents\/ao-linux-arm64: bin\/ao is not executable.*\n {2}fix: /,
    );
  });

  it('a missing or malformed --app file: one line each of what, why, fix, before staging anything', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'ao-cli-app-')), 'stage');
    const binaries = await fixtureBinaries('0.10.0');
    const missing = await cliJson(['stage', '--version', '0.10.0', '--binaries', binaries, '--out', out, '--app', join(out, 'nope.json')]);
    expect(missing.body).toMatchObject({
      ok: false,
      error: { code: 'ENOFILE', why: 'no such file', fix: expect.stringMatching(/^ao-release app-manifest --version 0\.10\.0 /) },
    });
    const file = join(out, '..', 'hello.json');
    await writeFile(file, '{"hello":1}');
    const hello = await cliJson(['stage', '--version', '0.10.0', '--binaries', binaries, '--out', out, '--app', file]);
    expect(hello.body.error).toMatchObject({ code: 'EAPPMANIFEST', what: 'the desktop app manifest does not fit release 0.10.0' });
  });

  it('a v-prefixed --version is read once as the exact version, and says so', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'ao-cli-v-')), 'stage');
    const { code, body } = await cliJson(['stage', '--version', 'v0.10.0', '--binaries', await fixtureBinaries('0.10.0'), '--out', out]);
    expect(code).toBe(0);
    expect(body.notices).toEqual(['version "v0.10.0" read as 0.10.0 (npm versions carry no "v")']);
    expect(body.result.packages.map((p: { version: string }) => p.version)).toEqual(Array(7).fill('0.10.0'));
  });

  describe('verify --registry failures are one JSON object with the step to run', () => {
    let registry: EmbeddedRegistry;
    afterAll(async () => registry?.stop());

    it('unreachable, not published (E404), and no matching version', async () => {
      const dead = `http://127.0.0.1:${await freePort()}/`;
      const unreachable = await cliJson(['verify', '--stage', stageDirOf(staged), '--registry', dead]);
      expect(unreachable.body.error).toMatchObject({ code: 'EUNREACHABLE', fix: expect.stringContaining('check the --registry URL') });

      registry = await startEmbeddedRegistry();
      const absent = await cliJson(['verify', '--stage', stageDirOf(staged), '--registry', registry.url, '--token', registry.authToken]);
      expect(absent.body.error).toMatchObject({
        code: 'E404',
        what: `resolving the release from ${registry.url}: @aoagents/ao@0.10.0 is not in ${registry.url}`,
        fix: `ao-release publish --registry ${registry.url} first (or check --registry and --stage)`,
      });

      // The main package at another version only.
      const other = await mkdtemp(join(tmpdir(), 'ao-cli-other-'));
      await writeFile(join(other, 'package.json'), JSON.stringify({ name: '@aoagents/ao', version: '0.10.1' }));
      await exec(
        'npm',
        ['publish', other, '--registry', registry.url, `--${registry.url.replace(/^http:/, '')}:_authToken=${registry.authToken}`, '--loglevel=error'],
        { env: { ...process.env, npm_config_cache: join(other, '.cache') } },
      );
      const otherVersion = await cliJson(['verify', '--stage', stageDirOf(staged), '--registry', registry.url, '--token', registry.authToken]);
      expect(otherVersion.body.error).toMatchObject({ code: 'ETARGET', why: 'the registry has the package but not that version' });
    });
  });
});

describe.runIf(canRunRealRewrite)('release cli on the real 0.10.3 binary, with a matrix file that releases linux-x64 only', () => {
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
    const common = [
      '--version',
      '0.10.3',
      '--binaries',
      join(work, 'bins'),
      '--matrix',
      join(work, 'matrix.json'),
      '--config',
      join(work, 'release.json'),
      '--out',
      join(work, 'stage'),
    ];

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
    expect(verified.out).toBe(
      'verified 2 packages of 0.10.3\n  linux-x64: go1.25.7 github.com/aoagents/agent-orchestrator/backend/cmd/ao at c89414ddb8cf (modified tree), 23,078,286 bytes\n',
    );
  }, 120_000);
});
