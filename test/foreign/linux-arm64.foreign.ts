import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectExecutable } from '../../common/binary-format.js';
import { foreignRunner } from '../../common/foreign-runner.js';
import { digestFile } from '../../common/integrity.js';
import { loadMatrix } from '../../common/matrix.js';
import { versionFromOutput } from '../../common/version-output.js';
import { buildAppArtifact } from '../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../rehearsal/fault-server.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import type { Sandbox } from '../../rehearsal/sandbox.js';
import { expectExactPassThrough, isElf, isNodeScript, mustRun, useReleaseRegistry } from '../postinstall/install-support.js';
import { laneTools, mustSucceed, runOnFiles } from './support/foreign.js';

/**
 * A Raspberry Pi / Graviton user, for real: Node for linux-arm64 under
 * qemu-user, first on PATH, running npm, our postinstall and launcher. binfmt
 * is registered for the file (arm64 node must exec arm64 children) and
 * unregistered after it, and again by the lane's teardown if this file dies.
 */
const { tools, skip } = laneTools('arm64');
const suite = tools ? describe : describe.skip;
const SPEC = '@aoagents/ao@0.10.0';
const target = loadMatrix().targets.find((t) => t.id === 'linux-arm64')!;

suite(`linux-arm64 under qemu-user${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const arm = tools!;
  const release = useReleaseRegistry();
  let teardown: { undoBinfmt: () => string[] } | undefined;
  const armUser = (name: string): Sandbox => release.sandbox(name, [arm.nodeDir], { QEMU_LD_PREFIX: arm.ldPrefix });
  let appServer: FaultServer | undefined;
  /** One install with scripts blocked (the launcher case), shared by the launcher and ao-app cases: each arm64 npm install takes 20-30 s. */
  let withScripts: Sandbox;
  let blocked: Sandbox;
  // Asynchronous: an emulated npm install takes 20-70 s, longer than a vitest worker may block its event loop.
  const npmInstall = async (sb: Sandbox, ...flags: string[]) =>
    mustSucceed(await runOnFiles('npm', ['install', '-g', SPEC, ...flags], sb.env, { timeoutMs: 300_000 }), 'npm install -g (arm64 Node)');
  /** qemu starts a Go binary in 0.1-1 s depending on the machine's load: signals wait this long for its handlers. */
  const SETTLE_MS = 3000;

  beforeAll(async () => {
    const binfmt = (await import('../../scripts/foreign-teardown.mjs')) as { registerBinfmt: () => unknown; undoBinfmt: () => string[] };
    teardown = binfmt;
    binfmt.registerBinfmt();
    withScripts = armUser('arm64-npm');
    blocked = armUser('arm64-ignore-scripts');
    await Promise.all([npmInstall(withScripts), npmInstall(blocked, '--ignore-scripts')]);
  });
  afterAll(async () => {
    teardown?.undoBinfmt();
    await appServer?.close();
  });

  it('npm under arm64 Node installs exactly @aoagents/ao-linux-arm64, and the postinstall verifies and swaps the arm64 binary in', async () => {
    const sb = withScripts;
    expect((await mustRun('node', ['-p', 'process.arch'], sb.env)).stdout.trim()).toBe('arm64');
    const scoped = join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao', 'node_modules', '@aoagents');
    expect(readdirSync(scoped)).toEqual(['ao-linux-arm64']);
    const ao = join(sb.binDir, 'ao');
    expect(isElf(ao)).toBe(true);
    expect(inspectExecutable(ao).cpus).toEqual(['arm64']);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    await expectExactPassThrough(ao, sb.env, SETTLE_MS);
  });

  it('with scripts blocked, the launcher verifies, runs the arm64 binary, stays (no first-run swap), and passes exit codes and signals through', async () => {
    const sb = blocked;
    const ao = join(sb.binDir, 'ao');
    expect(isNodeScript(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    expect(isNodeScript(ao)).toBe(true);
    await expectExactPassThrough(ao, sb.env, SETTLE_MS);
  });

  it(`ao-app installs the linux-arm64 app the matrix names (${target.app ? target.app.format : 'none'}) or says there is none`, async () => {
    const sb = blocked;
    const work = mkdtempSync(join(tmpdir(), 'ao-arm64-app-'));
    try {
      const appRoot = join(work, 'app');
      const manifestFile = join(work, 'manifest.json');
      const targets: Record<string, unknown> = {};
      if (target.app) {
        appServer = await startFaultServer();
        const kind = target.app.format === 'AppImage' ? 'appimage' : target.app.format === 'zip' ? 'win32' : 'linux';
        const built = await buildAppArtifact(kind, join(work, target.app.file), 128 * 1024);
        await appServer.serve(`/${target.app.file}`, built.file);
        const digest = await digestFile(built.file);
        targets['linux-arm64'] = {
          file: target.app.file,
          format: target.app.format,
          urls: [`${appServer.url}/${target.app.file}`],
          size: digest.size,
          integrity: digest.integrity,
          unpackedSizeLimit: digest.size * 4,
        };
      }
      writeFileSync(manifestFile, JSON.stringify({ schema: 1, version: '0.10.0', targets }));
      // Asynchronous: the app server lives in this process.
      const r = await runOnFiles(join(sb.binDir, 'ao-app'), ['install', '--json', '--manifest', manifestFile, '--dir', appRoot], sb.env);
      if (!target.app) {
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('there is no desktop app for this platform (linux-arm64)');
        expect(existsSync(join(appRoot, 'current'))).toBe(false);
        return;
      }
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ status: 'installed', target: 'linux-arm64' });
      expect(readlinkSync(join(appRoot, 'current'))).toBe(join('versions', '0.10.0-linux-arm64'));
      if (target.app.format === 'AppImage') {
        const file = join(appRoot, 'versions', '0.10.0-linux-arm64', target.app.file);
        expect(statSync(file).mode & 0o111).toBe(0o111);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("the release tools' version check runs the linux-arm64 binary through qemu", async () => {
    const binary = join(await fixtureBinaries('0.10.0', [target]), target.id, target.executable);
    const runner = foreignRunner(target);
    expect(runner).toEqual([arm.qemu]);
    const [cmd, ...pre] = runner!;
    const out = await mustRun(cmd!, [...pre, binary, '--version'], { PATH: process.env.PATH });
    expect(versionFromOutput(out.stdout)).toBe('0.10.0');
  });
});
