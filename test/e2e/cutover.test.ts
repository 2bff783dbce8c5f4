import { versionFromOutput } from '../../common/version-output.js';
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, pidAlive } from '../../common/lock.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { buildBridge } from '../../release/bridge.js';
import { FORWARD_STEPS, Journal, ROLLBACK_STEPS } from '../../installer/cutover/journal.js';
import {
  ao,
  checkStore,
  DEFAULT_LEGACY_HOME,
  globalInstall,
  legacyFingerprint,
  publishLegacyAndBridge,
  publishTarball,
  rehearseCutover,
  stopSandboxDaemon,
  userSandbox,
} from '../../installer/cutover/rehearsal.js';
import { runCommand } from '../../installer/cutover/run.js';
import { generateLegacyHome, type LegacyHomeFacts } from '../support/legacy-home.js';
import { publishPlain, stageFixtureRelease } from '../support/release-fixture.js';
import { buildAppArtifact } from '../support/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../support/fault-server.js';
import { digestFile } from '../../common/integrity.js';
import { hostTargetId } from '../../installer/app/manifest.js';
import type { Sandbox } from '../support/sandbox.js';

// The legacy user's journey, for real: Verdaccio, npm/pnpm global installs in a
// sandboxed user, the legacy stand-ins, the Go fixture as the rewrite, SIGKILL.
let registry: EmbeddedRegistry;
/** A sandbox with the 0.9.6 bridge installed globally with npm; cases copy its prefix. */
let template: Sandbox;
let extraPackages: string;
let appServer: FaultServer;
const sandboxes: Sandbox[] = [];

const HOME_OPTIONS = { ...DEFAULT_LEGACY_HOME, projects: 2, sessionsPerProject: 3 };

beforeAll(async () => {
  registry = await startEmbeddedRegistry();
  // The release pins a desktop app served from a loopback artifact server.
  appServer = await startFaultServer();
  extraPackages = await mkdtemp(join(tmpdir(), 'ao-cutover-extra-'));
  const artifact = await buildAppArtifact('appimage', join(extraPackages, 'ao.AppImage'), 64 * 1024);
  await appServer.serve('/ao.AppImage', artifact.file);
  const digest = await digestFile(artifact.file);
  const app = {
    schema: 1,
    version: '0.10.0',
    targets: { [hostTargetId()]: { file: 'ao.AppImage', format: 'AppImage', urls: [`${appServer.url}/ao.AppImage`], size: digest.size, integrity: digest.integrity, unpackedSizeLimit: digest.size * 2 } },
  };
  // 0.10.0 is never `latest` while the bridge path is the way in.
  await publishPlain(registry, await stageFixtureRelease('0.10.0', { app }), 'next');
  await publishLegacyAndBridge(registry);
  template = userSandbox(registry, 'npm', 'cutover-template');
  const installed = await globalInstall(template, 'npm', '@aoagents/ao@0.9.6');
  expect(installed.stderr).toBe('');
}, 300_000);

afterAll(async () => {
  for (const sb of sandboxes) {
    await stopSandboxDaemon(sb.home);
    sb.cleanup();
  }
  template?.cleanup();
  await appServer?.close();
  await registry?.stop();
});

/** A fresh user on the 0.9.6 bridge (npm) with a generated legacy home. */
async function bridgeUser(name: string): Promise<{ sb: Sandbox; facts: LegacyHomeFacts; before: string }> {
  const sb = userSandbox(registry, 'npm', name);
  sandboxes.push(sb);
  await cp(template.prefix, sb.prefix, { recursive: true, verbatimSymlinks: true });
  const facts = generateLegacyHome(sb.home, HOME_OPTIONS);
  return { sb, facts, before: await legacyFingerprint(sb.home) };
}

async function expectBackOnLegacy(sb: Sandbox, before: string): Promise<void> {
  expect(versionFromOutput((await ao(sb, ['--version'])).stdout)).toBe('0.9.6');
  expect(await legacyFingerprint(sb.home)).toBe(before);
  expect(existsSync(join(sb.home, '.ao', 'cutover', 'journal.json'))).toBe(false);
  const daemon = join(sb.home, '.ao', 'daemon.json');
  if (existsSync(daemon)) expect(pidAlive((JSON.parse(await readFile(daemon, 'utf8')) as { pid: number }).pid)).toBe(false);
}

async function expectOnRewrite(sb: Sandbox, facts: LegacyHomeFacts, before: string): Promise<void> {
  expect(versionFromOutput((await ao(sb, ['--version'])).stdout)).toBe('0.10.0');
  const exported = await ao(sb, ['export']);
  const store = checkStore(exported.stdout, facts);
  expect(store.problems).toEqual([]);
  expect(store.imported).toBe(facts.sessions.size);
  expect(await legacyFingerprint(sb.home)).toBe(before);
  expect(existsSync(join(sb.home, '.ao', 'cutover', 'journal.json'))).toBe(false);
}

describe('ao update: 0.9.5 -> 0.9.6 -> 0.10.0', () => {
  it('npm: lands on the rewrite with every session and resume id, legacy data untouched', async () => {
    const report = await rehearseCutover({ registry, publishLegacy: false, packageManager: 'npm' });
    expect(report.problems).toEqual([]);
    expect(report.sessionsImported).toBe(report.sessions);
    expect(report.resumeIdsMatched).toBeGreaterThan(0);
    expect(report.legacyHomeUnchanged).toBe(true);
  }, 240_000);

  it('pnpm (PNPM_HOME on PATH): the same journey with pnpm add -g', async () => {
    const report = await rehearseCutover({ registry, publishLegacy: false, packageManager: 'pnpm' });
    expect(report.problems).toEqual([]);
    expect(report.sessionsImported).toBe(report.sessions);
  }, 240_000);
});

describe('ao update guards', () => {
  it('--check prints the plan and changes nothing; no TTY and no --yes stops and says so', async () => {
    const { sb, before } = await bridgeUser('cutover-check');
    const check = await ao(sb, ['update', '--check']);
    expect(check.code).toBe(0);
    expect(check.stderr).toContain('npm install -g @aoagents/ao@0.10.0');
    expect(check.stderr).toContain('nothing was changed');
    const noTty = await ao(sb, ['update']);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('ao update --yes');
    expect(existsSync(join(sb.home, '.ao', 'backups'))).toBe(false);
    expect(existsSync(join(sb.home, '.ao', 'cutover', 'journal.json'))).toBe(false);
    await expectBackOnLegacy(sb, before);
  }, 60_000);

  it('on a real terminal it asks first: "n" changes nothing, "y" goes ahead', async () => {
    const { sb, facts, before } = await bridgeUser('cutover-tty');
    // script(1) gives `ao update` a real pty; we answer at the prompt like a person.
    const answer = (reply: string) =>
      new Promise<{ code: number | null; screen: string }>((resolve) => {
        const child = spawn('script', ['-qec', 'ao update', '/dev/null'], { env: sb.env, cwd: sb.home, stdio: ['pipe', 'pipe', 'pipe'] });
        let screen = '';
        let answered = false;
        child.stdout.on('data', (d) => {
          screen += d;
          if (!answered && screen.includes('Go ahead? [y/N]')) {
            answered = true;
            child.stdin.write(`${reply}\r`);
          }
        });
        child.on('exit', (code) => resolve({ code, screen }));
      });
    const declined = await answer('n');
    expect(declined.code).toBe(1);
    expect(declined.screen).toContain('ao update cancelled');
    await expectBackOnLegacy(sb, before);
    expect(existsSync(join(sb.home, '.ao', 'backups'))).toBe(false);
    const accepted = await answer('y');
    expect(accepted.code, accepted.screen).toBe(0);
    await expectOnRewrite(sb, facts, before);
  }, 120_000);

  it('a second ao update while one runs is refused with who holds the lock', async () => {
    const { sb } = await bridgeUser('cutover-locked');
    const lock = await acquireLock(join(sb.home, '.ao', 'cutover', 'update.lock'), { purpose: 'test' });
    try {
      const res = await ao(sb, ['update', '--yes']);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`ao update is already running`);
      expect(res.stderr).toContain(`pid ${process.pid}`);
    } finally {
      await lock.release();
    }
  }, 60_000);

  it('refuses while the legacy ao is running unless --force-migrate', async () => {
    const { sb } = await bridgeUser('cutover-active');
    await writeFile(join(sb.home, '.agent-orchestrator', 'running.json'), JSON.stringify({ pid: process.pid, port: 3000, projects: [] }));
    const refused = await ao(sb, ['update', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/still active[\s\S]*--force-migrate/);
    const forced = await ao(sb, ['update', '--check', '--force-migrate']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('--force-migrate: migrating although');
  }, 60_000);
});

describe('the desktop app step', () => {
  it('fetches the pinned app; a failed fetch keeps the new CLI and says how to fetch it later', async () => {
    const { sb, facts, before } = await bridgeUser('cutover-app');
    appServer.fault('/ao.AppImage', { kind: 'status', status: 404 });
    const res = await ao(sb, ['update', '--yes']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/app fetch failed .*fetch it later with: ao-app install/);
    await expectOnRewrite(sb, facts, before);
    await stopSandboxDaemon(sb.home);

    const ok = await bridgeUser('cutover-app-ok');
    const res2 = await ao(ok.sb, ['update', '--yes']);
    expect(res2.code, res2.stderr).toBe(0);
    const path = /desktop app at (\S+)/.exec(res2.stderr)?.[1];
    expect(path && existsSync(path)).toBe(true);
  }, 120_000);
});

describe('ao update rolls back to 0.9.6 with every legacy byte as it was', () => {
  it('when the daemon never becomes ready', async () => {
    const { sb, before } = await bridgeUser('cutover-never-ready');
    const res = await ao(sb, ['update', '--yes', '--ready-timeout', '2'], { AO_FIXTURE_FAULT: 'never-ready' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('did not become ready within 2 s');
    expect(res.stderr).toContain('rolled back: you are on @aoagents/ao@0.9.6');
    await expectBackOnLegacy(sb, before);
    expect(existsSync(join(sb.home, '.ao', 'ao.db'))).toBe(false);
  }, 120_000);

  it('when the import fails, restoring a prior ao.db byte for byte', async () => {
    const { sb, before } = await bridgeUser('cutover-import-error');
    const prior = JSON.stringify({ schema: 1, projects: { keep: { id: 'keep' } }, sessions: {}, imports: [] });
    await writeFile(join(sb.home, '.ao-prior'), prior);
    await cp(join(sb.home, '.ao-prior'), join(sb.home, '.ao', 'ao.db'));
    const res = await ao(sb, ['update', '--yes'], { AO_FIXTURE_FAULT: 'import-error' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('could not import your legacy sessions');
    await expectBackOnLegacy(sb, before);
    expect(await readFile(join(sb.home, '.ao', 'ao.db'), 'utf8')).toBe(prior);
  }, 120_000);

  it('when the pinned version is not in the registry: preflight refuses before anything changes', async () => {
    const { sb, before } = await bridgeUser('cutover-missing');
    const bridge = await buildBridge({ version: '0.9.6', target: '0.10.99', outDir: join(extraPackages, 'missing') });
    expect((await globalInstall(sb, 'npm', bridge.tarball)).code).toBe(0);
    const res = await ao(sb, ['update', '--yes']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('@aoagents/ao@0.10.99 is not available from your registry');
    expect(existsSync(join(sb.home, '.ao', 'backups'))).toBe(false);
    await expectBackOnLegacy(sb, before);
  }, 120_000);

  it('when the install fails mid-way (the new package\'s install script fails)', async () => {
    const broken = join(extraPackages, 'broken');
    const pkgDir = join(broken, 'src');
    await mkdir(join(pkgDir, 'bin'), { recursive: true });
    await writeFile(join(pkgDir, 'package.json'), JSON.stringify({ name: '@aoagents/ao', version: '0.10.2', bin: { ao: 'bin/ao' }, scripts: { postinstall: 'node -e "process.exit(7)"' } }));
    await writeFile(join(pkgDir, 'bin', 'ao'), '#!/usr/bin/env node\nconsole.log("0.10.2")\n');
    const packed = await runCommand('npm', ['pack', pkgDir, '--pack-destination', broken], { env: template.env, cwd: broken });
    expect(packed.code).toBe(0);
    await publishTarball(registry, join(broken, 'aoagents-ao-0.10.2.tgz'), 'broken');
    const { sb, before } = await bridgeUser('cutover-broken-install');
    const bridge = await buildBridge({ version: '0.9.6', target: '0.10.2', outDir: join(broken, 'bridge') });
    expect((await globalInstall(sb, 'npm', bridge.tarball)).code).toBe(0);
    const res = await ao(sb, ['update', '--yes']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('npm install -g @aoagents/ao@0.10.2` failed');
    await expectBackOnLegacy(sb, before);
  }, 120_000);
});

describe('interrupts', () => {
  it('Ctrl-C during the install lets npm finish, then rolls back cleanly (exit 130)', async () => {
    const { sb, before } = await bridgeUser('cutover-sigint');
    // Like a terminal: the whole foreground process group gets SIGINT.
    const child = spawn('ao', ['update', '--yes'], { env: sb.env, cwd: sb.home, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && stderr.includes('Installing: npm install -g')) {
        sent = true;
        // A moment later npm is mid-install (it takes seconds); the group signal reaches the cutover only.
        setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 300);
      }
    });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(sent).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('SIGINT received; stopping after this step');
    expect(stderr).toContain('rolled back: you are on @aoagents/ao@0.9.6');
    const journals = await readdir(join(sb.home, '.ao', 'cutover'));
    const archived = JSON.parse(await readFile(join(sb.home, '.ao', 'cutover', journals.find((f) => f.startsWith('journal-'))!), 'utf8')) as { steps: Array<{ name: string; status: string }> };
    // The install ran to completion (npm was not killed mid-way); nothing after it started.
    expect(archived.steps.at(-1)).toMatchObject({ name: 'install', status: 'done' });
    await expectBackOnLegacy(sb, before);
  }, 120_000);
});

describe.concurrent('crash matrix: SIGKILL at every journal step, then ao update --yes again', () => {
  const at = (steps: readonly string[]) => steps.flatMap((step) => (['before', 'after'] as const).map((when) => `${step}:${when}`));
  // Rollback steps are reached by failing the import (the fixture's import-error), then killed the same way.
  const points = [...at([...FORWARD_STEPS, 'commit']), ...at(ROLLBACK_STEPS)];
  for (const point of points) {
    it(point, async () => {
      const { sb, facts, before } = await bridgeUser(`cutover-crash-${point.replace(':', '-')}`);
      const inRollback = (ROLLBACK_STEPS as readonly string[]).includes(point.split(':')[0]!);
      const crashed = await ao(sb, ['update', '--yes'], { AO_CUTOVER_CRASH_AT: point, ...(inRollback ? { AO_FIXTURE_FAULT: 'import-error' } : {}) });
      expect(crashed.stderr).toContain('(killed by SIGKILL)');
      const [step, when] = point.split(':');
      const left = (await Journal.load(join(sb.home, '.ao')))!;
      expect(left.data[inRollback ? 'rollback' : 'steps'].at(-1)).toMatchObject({ name: step, status: when === 'before' ? 'started' : 'done' });
      // Whichever `ao` is on PATH now: the legacy CLI resumes with `ao update`;
      // when the rewrite already is, the saved cutover copy does.
      const onPath = versionFromOutput((await ao(sb, ['--version'])).stdout);
      const resumed =
        onPath === '0.9.6'
          ? await ao(sb, ['update', '--yes'])
          : await runCommand(process.execPath, [join(sb.home, '.ao', 'cutover', 'resume.cjs'), '--yes'], { env: sb.env, cwd: sb.home });
      expect(resumed.code, resumed.stderr).toBe(0);
      const version = versionFromOutput((await ao(sb, ['--version'])).stdout);
      if (version === '0.9.6') await expectBackOnLegacy(sb, before);
      else await expectOnRewrite(sb, facts, before);
      const archived = await readdir(join(sb.home, '.ao', 'cutover'));
      expect(archived.some((f) => f.startsWith('journal-'))).toBe(true);
    }, 180_000);
  }
});

describe('ao-legacy-import: a user who installed 0.10.0 directly', () => {
  it('is told about the legacy home, imports it with a backup, and the notice goes away', async () => {
    const sb = userSandbox(registry, 'npm', 'cutover-direct');
    sandboxes.push(sb);
    expect((await globalInstall(sb, 'npm', '@aoagents/ao@0.10.0')).code).toBe(0);
    const facts = generateLegacyHome(sb.home, HOME_OPTIONS);
    const before = await legacyFingerprint(sb.home);
    expect((await ao(sb, ['status'])).stderr).toContain('ao-legacy-import');
    // The command ships in the main package: run it as the user would, from PATH.
    const importer = join(sb.binDir, 'ao-legacy-import');
    const crashed = await runCommand(importer, ['--yes'], { env: { ...sb.env, AO_CUTOVER_CRASH_AT: 'import:after' }, cwd: sb.home });
    expect(crashed.stderr).toContain('(killed by SIGKILL)');
    expect((await ao(sb, ['status'])).stderr).toMatch(/migration from the legacy ao was interrupted[\s\S]*ao-legacy-import/);
    const res = await runCommand(importer, ['--yes'], { env: sb.env, cwd: sb.home });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('rolling back the interrupted cutover');
    await expectOnRewrite(sb, facts, before);
    expect((await ao(sb, ['status'])).stderr).not.toContain('ao-legacy-import');
    expect((await readdir(join(sb.home, '.ao', 'backups'))).some((d) => d.startsWith('legacy-'))).toBe(true);
  }, 120_000);
});
