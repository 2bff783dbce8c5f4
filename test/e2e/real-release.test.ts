import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import type { AoManifest } from '../../common/ao-manifest.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { expectUnstampedRefusal, installAndRunFirstCommands, publishRealRewriteRelease, type RealRelease } from '../../rehearsal/real-release.js';
import {
  alterBinary,
  isElf,
  isNodeScript,
  mustRun,
  refusedWithRepair,
  REPORT_COMPILED_AT_EXECVE,
  REPORT_COMPILED_AT_EXIT,
  runRepair,
  withPnpmShim,
} from '../postinstall/install-support.js';
import { shippedForTests } from '../../rehearsal/release-fixture.js';
import { canRunRealRewrite, REAL_REWRITE } from '../support/real-rewrite.js';
import { canRunPinnedNode, pinnedNode } from '../../rehearsal/pinned-node.js';
import { createSandbox, type Sandbox } from '../../rehearsal/sandbox.js';

const globalPkg = (sb: Sandbox) => join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao');

/**
 * Runs the real `ao daemon` (it stays in the foreground) on a free port, Ctrl-C's it as a terminal does (SIGINT to the
 * whole process group), and returns how it ended and how many times the daemon said it received a shutdown signal.
 */
async function ctrlCDaemon(ao: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: NodeJS.Signals | null; received: number }> {
  // A port the kernel just handed out, so another test's daemon cannot hold it (the daemon would refuse to start).
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const child = spawn(ao, ['daemon'], { env: { ...env, AO_PORT: String(port) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  child.stdout.on('data', (d) => (said += d));
  child.stderr.on('data', (d) => (said += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  for (const start = Date.now(); !said.includes('daemon listening') && Date.now() - start < 60_000; ) await new Promise((r) => setTimeout(r, 100));
  process.kill(-child.pid!, 'SIGINT');
  const end = await ended;
  return { ...end, received: said.split('shutdown signal received').length - 1 };
}

describe.runIf(canRunRealRewrite)('the real rewrite binary released through our packages (with the recorded override)', () => {
  let registry: EmbeddedRegistry;
  let release: RealRelease;
  const sandboxes: Sandbox[] = [];
  const sandbox = (name: string) => {
    const sb = createSandbox({ registry: registry.url, name });
    sandboxes.push(sb);
    return sb;
  };
  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    release = await publishRealRewriteRelease({ registry: { url: registry.url, token: registry.authToken }, shippedDir: await shippedForTests() });
  }, 300_000);
  afterAll(async () => {
    for (const sb of sandboxes) sb.cleanup();
    await registry?.stop();
  });

  it('publishes @aoagents/ao@0.10.3 and its linux-x64 package under the staging tag, the override in the manifest', () => {
    expect(release.spec).toBe('@aoagents/ao@0.10.3');
    expect(release.record.tag).toBe('staging-0.10.3');
    expect(release.record.verified).toBe(true);
    expect(release.record.packages.map((p) => p.name)).toEqual(['@aoagents/ao-linux-x64', '@aoagents/ao']);
    const manifest = JSON.parse(readFileSync(join(release.staged.packages.at(-1)!.dir, 'ao-manifest.json'), 'utf8')) as AoManifest;
    expect(manifest.override).toEqual({ allowUnstamped: 'dev' });
    expect(manifest.binaries['linux-x64']).toMatchObject({ reportsVersion: 'dev', size: REAL_REWRITE.binarySize });
  });

  it('a normal npm install -g swaps the real binary in; ao version, --version and doctor --json answer from it', async () => {
    const sb = sandbox('real-npm');
    const facts = await installAndRunFirstCommands(release.spec, sb, true);
    expect(facts.runs.map((r) => [r.command, r.via, r.status])).toEqual([
      ['ao version', 'native binary', 0],
      ['ao --version', 'native binary', 0],
      ['ao doctor --json', 'native binary', 0],
    ]);
    expect(facts.runs[0]!.file).toBe(join(globalPkg(sb), 'bin', 'ao'));
    expect(statSync(facts.runs[0]!.file).size).toBe(REAL_REWRITE.binarySize);
    expect(facts.runs.slice(0, 2).map((r) => r.stdout)).toEqual(['dev\n', 'ao version dev\n']);
    expect(JSON.parse(facts.runs[2]!.stdout).checks.find((c: { name: string }) => c.name === 'data-dir')?.message).toBe(join(sb.home, '.ao', 'data'));
  });

  it('with --ignore-scripts, our launcher verifies the real binary and runs the same three commands through it', async () => {
    const sb = sandbox('real-noscripts');
    const facts = await installAndRunFirstCommands(release.spec, sb, false);
    expect(facts.runs.map((r) => [r.command, r.via, r.status])).toEqual([
      ['ao version', 'launcher', 0],
      ['ao --version', 'launcher', 0],
      ['ao doctor --json', 'launcher', 0],
    ]);
    expect(facts.runs.slice(0, 2).map((r) => r.stdout)).toEqual(['dev\n', 'ao version dev\n']);
    expect(JSON.parse(facts.runs[2]!.stdout).checks.find((c: { name: string }) => c.name === 'data-dir')?.message).toBe(join(sb.home, '.ao', 'data'));
    // No first-run swap (a process the kernel started through the launcher's shebang would read the ELF):
    // the launcher stays, and runs the verified binary every time.
    expect(isElf(join(globalPkg(sb), 'bin', 'ao'))).toBe(false);
    // bin/ao's usual path (the binary verified, its stamp written) on each Node line: spawned on Node 20, replaced by it
    // with process.execve on 22 and 24, having compiled bin/ao alone (the preloads
    // name every file compiled, at the exit or at the execve): the full launcher runs it too, and prints the same.
    if (canRunPinnedNode) {
      const binAo = realpathSync(join(globalPkg(sb), 'bin', 'ao'));
      const on20 = spawnSync(await pinnedNode(20), ['--require', REPORT_COMPILED_AT_EXIT, binAo, '--version'], {
        env: sb.env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect([on20.status, on20.stdout, on20.stderr]).toEqual([0, 'ao version dev\n', `compiled: ${JSON.stringify([binAo])}\n`]);
      for (const line of [22, 24] as const) {
        const r = spawnSync(await pinnedNode(line), ['--require', REPORT_COMPILED_AT_EXECVE, binAo, '--version'], {
          env: sb.env,
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect([r.status, r.stdout, r.stderr], `Node ${line}`).toEqual([0, 'ao version dev\n', `compiled: ${JSON.stringify([binAo])}\n`]);
      }
    }
  });

  // pnpm blocks ao's build script by default and its shim runs `node bin/ao` on every call: the launcher's path, the one
  // the npm tests above take only with --ignore-scripts.
  it('pnpm global, build script blocked: the launcher runs the real binary, verifies it once, Ctrl-C reaches it once, and a tampered binary is refused with a pnpm fix that works', async () => {
    const sb = sandbox('real-pnpm');
    const pnpmHome = join(sb.root, 'pnpm-home');
    const shimmed = withPnpmShim(sb);
    const env = { ...shimmed, PNPM_HOME: pnpmHome, PATH: [pnpmHome, shimmed.PATH].join(delimiter) };
    await mustRun('pnpm', ['add', '-g', release.spec], env);
    const ao = join(pnpmHome, 'ao');
    const said = [];
    for (const command of [['version'], ['--version'], ['doctor', '--json']]) said.push((await mustRun(ao, command, env)).stdout);
    expect(said.slice(0, 2)).toEqual(['dev\n', 'ao version dev\n']);
    expect(JSON.parse(said[2]!).checks.find((c: { name: string }) => c.name === 'data-dir')?.message).toBe(join(sb.home, '.ao', 'data'));
    const stampDir = join(sb.home, '.cache', 'ao', 'verified');
    expect(existsSync(stampDir) ? readdirSync(stampDir).length : 0).toBe(1);
    const pkg = realpathSync(join((await mustRun('pnpm', ['root', '-g'], env)).stdout.trim(), '@aoagents', 'ao'));
    expect(isNodeScript(join(pkg, 'bin', 'ao'))).toBe(true);
    expect(await ctrlCDaemon(ao, env)).toEqual({ code: 0, signal: null, received: 1 });
    const binary = realpathSync(join(pkg, '..', 'ao-linux-x64', 'bin', 'ao'));
    alterBinary(binary);
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`touch ${binary} && pnpm add -g ${release.spec} --force`);
    await runRepair(fix, env);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version dev\n');
  });

  it('without the override, the release tools refuse the real binary as unstamped', async () => {
    expect(await expectUnstampedRefusal({ shippedDir: await shippedForTests() })).toMatch(/^@aoagents\/ao-linux-x64: \S+ reports version "dev", not 0\.10\.3$/);
  });
});
