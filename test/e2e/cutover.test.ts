import { versionFromOutput } from '../../common/version-output.js';
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../common/lock.js';
import { recordedProcessAlive } from '../../common/process-identity.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { buildBridge } from '../../release/bridge.js';
import { FORWARD_STEPS, Journal, ROLLBACK_STEPS } from '../../installer/cutover/journal.js';
import { hashTree } from '../../installer/cutover/backup/walk.js';
import {
  ao,
  DEFAULT_LEGACY_HOME,
  inspectRewrite,
  globalInstall,
  legacyFingerprint,
  publishLegacyAndBridge,
  publishTarball,
  rehearseCutover,
  stopSandboxDaemon,
  userSandbox,
} from '../../rehearsal/cutover.js';
import { runCommand } from '../../installer/cutover/run.js';
import { readRunFile } from '../../installer/cutover/rewrite.js';
import { generateLegacyHome, type LegacyHomeFacts } from '../../rehearsal/legacy-home.js';
import { publishPlain, stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { buildAppArtifact } from '../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../rehearsal/fault-server.js';
import { digestFile } from '../../common/integrity.js';
import { hostTargetId } from '../../common/app-manifest.js';
import type { Sandbox } from '../../rehearsal/sandbox.js';

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
    targets: {
      [hostTargetId()]: {
        file: 'ao.AppImage',
        format: 'AppImage',
        urls: [`${appServer.url}/ao.AppImage`],
        size: digest.size,
        integrity: digest.integrity,
        unpackedSizeLimit: digest.size * 2,
      },
    },
  };
  // 0.10.0 is never `latest` while the bridge path is the way in.
  await publishPlain(registry, await stageFixtureRelease('0.10.0', { app }), 'next');
  await publishLegacyAndBridge(registry, { testHooks: true });
  template = userSandbox(registry, 'npm', 'cutover-template');
  const installed = await globalInstall(template, 'npm', '@aoagents/ao@0.9.6');
  expect(installed.stderr).toBe('');
}, 300_000);

afterAll(async () => {
  for (const sb of sandboxes) {
    await stopSandboxDaemon(sb);
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

/** No daemon the cutover started is left running (running.json gone or naming a dead pid). */
async function expectNoDaemon(sb: Sandbox): Promise<void> {
  const info = await readRunFile(join(sb.home, '.ao', 'running.json'));
  if (info) expect(recordedProcessAlive(info.pid, undefined)).toBe(false);
}

async function expectBackOnLegacy(sb: Sandbox, before: string): Promise<void> {
  expect(versionFromOutput((await ao(sb, ['--version'])).stdout)).toBe('0.9.6');
  expect(await legacyFingerprint(sb.home)).toBe(before);
  expect(existsSync(join(sb.home, '.ao', 'cutover', 'journal.json'))).toBe(false);
  expect(existsSync(join(sb.home, '.ao', 'legacy', 'imported.json'))).toBe(false);
  await expectNoDaemon(sb);
}

async function expectOnRewrite(sb: Sandbox, facts: LegacyHomeFacts, before: string, via = 'ao update'): Promise<void> {
  expect(versionFromOutput((await ao(sb, ['--version'])).stdout)).toBe('0.10.0');
  await expectNoDaemon(sb);
  const held = await inspectRewrite(sb, facts);
  expect(held.problems).toEqual([]);
  expect(held.sessionsInRewrite).toBe(facts.sessions.size);
  expect(held.projectsInRewrite).toBe(facts.projects.length);
  expect(await legacyFingerprint(sb.home)).toBe(before);
  expect(existsSync(join(sb.home, '.ao', 'cutover', 'journal.json'))).toBe(false);
  expect(JSON.parse(await readFile(join(sb.home, '.ao', 'legacy', 'imported.json'), 'utf8'))).toMatchObject({
    via,
    sessions: facts.sessions.size,
    sessionsInRewrite: facts.sessions.size,
  });
}

describe('ao update: 0.9.5 -> 0.9.6 -> 0.10.0', () => {
  it('npm: lands on the rewrite with every session and resume id, legacy data untouched', async () => {
    const report = await rehearseCutover({ registry, publishLegacy: false, packageManager: 'npm' });
    expect(report.problems).toEqual([]);
    expect(report.sessionsInRewrite).toBe(report.sessions);
    expect(report.projectsInRewrite).toBe(report.projects);
    expect(report.resumeIdsInBundle).toBeGreaterThan(0);
    expect(report.daemonHealthy).toBe(true);
    expect(report.legacyHomeUnchanged).toBe(true);
  }, 240_000);

  it('pnpm (PNPM_HOME on PATH): the same journey with pnpm add -g', async () => {
    const report = await rehearseCutover({ registry, publishLegacy: false, packageManager: 'pnpm' });
    expect(report.problems).toEqual([]);
    expect(report.sessionsInRewrite).toBe(report.sessions);
  }, 240_000);
});

describe('ao update guards', () => {
  it('--check prints the plan and changes nothing; no TTY and no --yes stops and says so', async () => {
    const { sb, before } = await bridgeUser('cutover-check');
    const everything = JSON.stringify(await hashTree(sb.root));
    const check = await ao(sb, ['update', '--check']);
    expect(check.code).toBe(0);
    expect(check.stderr).toContain('npm install -g @aoagents/ao@0.10.0');
    expect(check.stderr).toContain('nothing was changed');
    // --check changes nothing anywhere: not even ~/.ao is created, nor npm's cache or logs.
    expect(existsSync(join(sb.home, '.ao'))).toBe(false);
    expect(JSON.stringify(await hashTree(sb.root))).toBe(everything);
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
        child.on('close', (code) => resolve({ code, screen }));
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
    await stopSandboxDaemon(sb);

    const ok = await bridgeUser('cutover-app-ok');
    const res2 = await ao(ok.sb, ['update', '--yes']);
    expect(res2.code, res2.stderr).toBe(0);
    const path = /desktop app at (\S+)/.exec(res2.stderr)?.[1];
    expect(path && existsSync(path)).toBe(true);
    // The rewrite's own `ao start` finds the verified app through this marker instead of downloading one.
    const state = JSON.parse(await readFile(join(ok.sb.home, '.ao', 'app-state.json'), 'utf8')) as { schemaVersion: number; appPath: string; version: string };
    expect(state.schemaVersion).toBe(1);
    expect(state.appPath.startsWith(path!)).toBe(true);
    expect(existsSync(state.appPath)).toBe(true);
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
    // No store before, none after: the one the import made is moved aside.
    expect(existsSync(join(sb.home, '.ao', 'data', 'ao.db'))).toBe(false);
  }, 120_000);

  it('when the import fails, restoring a prior store (ao.db, -wal, -shm) byte for byte', async () => {
    const { sb, before } = await bridgeUser('cutover-import-error');
    const data = join(sb.home, '.ao', 'data');
    await mkdir(data, { recursive: true });
    const prior = {
      'ao.db': '{"format":"ao-fixture-store","schema":1,"projects":{},"sessions":{}}',
      'ao.db-wal': '{"op":"project","key":"keep","value":{"id":"keep"}}\n',
      'ao.db-shm': 'committed=52\n',
    };
    for (const [f, text] of Object.entries(prior)) await writeFile(join(data, f), text);
    const res = await ao(sb, ['update', '--yes'], { AO_FIXTURE_FAULT: 'import-error' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('the rewrite could not import your legacy home');
    await expectBackOnLegacy(sb, before);
    for (const [f, text] of Object.entries(prior)) expect(await readFile(join(data, f), 'utf8')).toBe(text);
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

  it("when the install fails mid-way (the new package's install script fails)", async () => {
    const broken = join(extraPackages, 'broken');
    const pkgDir = join(broken, 'src');
    await mkdir(join(pkgDir, 'bin'), { recursive: true });
    await writeFile(
      join(pkgDir, 'package.json'),
      JSON.stringify({ name: '@aoagents/ao', version: '0.10.2', bin: { ao: 'bin/ao' }, scripts: { postinstall: 'node -e "process.exit(7)"' } }),
    );
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
    const archived = JSON.parse(await readFile(join(sb.home, '.ao', 'cutover', journals.find((f) => f.startsWith('journal-'))!), 'utf8')) as {
      steps: Array<{ name: string; status: string }>;
    };
    // The install ran to completion (npm was not killed mid-way); nothing after it started.
    expect(archived.steps.at(-1)).toMatchObject({ name: 'install', status: 'done' });
    await expectBackOnLegacy(sb, before);
  }, 120_000);
});

/**
 * Where each crash point leaves a user and what the next run must do with it: the `ao` on PATH right after the
 * kill, and the recovery (a run that only read is discarded, one that touched the install or the store is
 * rolled back, one whose health check passed is finished). Every point then ends on the rewrite with every
 * session, because the recovered run starts the cutover again (or only commits).
 */
const CRASH_OUTCOMES: Record<string, { onPath: '0.9.6' | '0.10.0'; recovery: 'discarded' | 'rolled back' | 'finished' }> = {
  'preflight:before': { onPath: '0.9.6', recovery: 'discarded' },
  'preflight:after': { onPath: '0.9.6', recovery: 'discarded' },
  'backup:before': { onPath: '0.9.6', recovery: 'discarded' },
  'backup:after': { onPath: '0.9.6', recovery: 'discarded' },
  'install:before': { onPath: '0.9.6', recovery: 'rolled back' },
  'install:after': { onPath: '0.10.0', recovery: 'rolled back' },
  'app:before': { onPath: '0.10.0', recovery: 'rolled back' },
  'app:after': { onPath: '0.10.0', recovery: 'rolled back' },
  'import:before': { onPath: '0.10.0', recovery: 'rolled back' },
  'import:after': { onPath: '0.10.0', recovery: 'rolled back' },
  'health:before': { onPath: '0.10.0', recovery: 'rolled back' },
  'health:after': { onPath: '0.10.0', recovery: 'finished' },
  'commit:before': { onPath: '0.10.0', recovery: 'finished' },
  'commit:after': { onPath: '0.10.0', recovery: 'finished' },
  // Reached by a daemon that never becomes ready (a 1 s deadline), then killed inside the rollback.
  'stop-daemon:before': { onPath: '0.10.0', recovery: 'rolled back' },
  'stop-daemon:after': { onPath: '0.10.0', recovery: 'rolled back' },
  'restore-store:before': { onPath: '0.10.0', recovery: 'rolled back' },
  'restore-store:after': { onPath: '0.10.0', recovery: 'rolled back' },
  'reinstall-legacy:before': { onPath: '0.10.0', recovery: 'rolled back' },
  'reinstall-legacy:after': { onPath: '0.9.6', recovery: 'rolled back' },
  'verify-legacy-files:before': { onPath: '0.9.6', recovery: 'rolled back' },
  'verify-legacy-files:after': { onPath: '0.9.6', recovery: 'rolled back' },
};
const RECOVERY_LINE = {
  discarded: 'had changed nothing; starting again',
  'rolled back': 'rolled back; your legacy data is unchanged',
  finished: 'ao update: finished the ao update cutover',
} as const;

describe.concurrent('crash matrix: SIGKILL at every journal step, then the cutover again', () => {
  it('covers every step', () => {
    const at = (steps: readonly string[]) => steps.flatMap((step) => ['before', 'after'].map((when) => `${step}:${when}`));
    expect(Object.keys(CRASH_OUTCOMES).sort()).toEqual([...at([...FORWARD_STEPS, 'commit']), ...at(ROLLBACK_STEPS)].sort());
  });
  for (const [point, expected] of Object.entries(CRASH_OUTCOMES)) {
    it(`${point}: ${expected.recovery}, then on the rewrite`, async () => {
      const { sb, facts, before } = await bridgeUser(`cutover-crash-${point.replace(':', '-')}`);
      const [step, when] = point.split(':');
      const inRollback = (ROLLBACK_STEPS as readonly string[]).includes(step!);
      const crashed = await ao(sb, ['update', '--yes', ...(inRollback ? ['--ready-timeout', '1'] : [])], {
        AO_CUTOVER_CRASH_AT: point,
        ...(inRollback ? { AO_FIXTURE_FAULT: 'never-ready' } : {}),
      });
      expect(crashed.stderr).toContain('(killed by SIGKILL)');
      const left = (await Journal.load(join(sb.home, '.ao')))!;
      expect(left.data[inRollback ? 'rollback' : 'steps'].at(-1)).toMatchObject({ name: step, status: when === 'before' ? 'started' : 'done' });
      expect(versionFromOutput((await ao(sb, ['--version'])).stdout)).toBe(expected.onPath);
      // The legacy CLI resumes with `ao update`; when the rewrite is on PATH, the saved cutover copy does.
      const resumed =
        expected.onPath === '0.9.6'
          ? await ao(sb, ['update', '--yes'])
          : await runCommand(process.execPath, [join(sb.home, '.ao', 'cutover', 'resume.cjs'), '--yes'], { env: sb.env, cwd: sb.home });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain(RECOVERY_LINE[expected.recovery]);
      await expectOnRewrite(sb, facts, before);
      const archived = (await readdir(join(sb.home, '.ao', 'cutover'))).filter((f) => f.startsWith('journal-'));
      expect(archived.filter((f) => f.endsWith('-done.json'))).toHaveLength(1);
      expect(archived.filter((f) => f.endsWith('-rolled-back.json'))).toHaveLength(expected.recovery === 'finished' ? 0 : 1);
    }, 180_000);
  }

  it('install:during (npm still writing when the cutover dies): the recovery waits for that npm before it rolls back', async () => {
    const { sb, facts, before } = await bridgeUser('cutover-crash-install-during');
    const crashed = await ao(sb, ['update', '--yes'], { AO_CUTOVER_CRASH_AT: 'install:during' });
    expect(crashed.stderr).toContain('(killed by SIGKILL)');
    const orphan = (await Journal.load(join(sb.home, '.ao')))!.data.child!;
    expect(orphan.command).toBe('npm install -g @aoagents/ao@0.10.0');
    let orphanGoneAt: number | undefined;
    // Gone once it stops running: an npm that finished is a zombie until whoever inherited it (PID 1 here) reaps it,
    // which took over a second on this VM, and the recovery rightly goes on at once (process-identity.ts).
    const watch = setInterval(() => {
      if (orphanGoneAt === undefined && !recordedProcessAlive(orphan.pid, undefined)) orphanGoneAt = Date.now();
    }, 20);
    try {
      expect(recordedProcessAlive(orphan.pid, undefined)).toBe(true);
      const resumed = await runCommand(process.execPath, [join(sb.home, '.ao', 'cutover', 'resume.cjs'), '--yes'], { env: sb.env, cwd: sb.home });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(orphanGoneAt).toBeDefined();
      const cutoverDir = join(sb.home, '.ao', 'cutover');
      const rolledBack = JSON.parse(
        await readFile(join(cutoverDir, (await readdir(cutoverDir)).find((f) => f.endsWith('-rolled-back.json'))!), 'utf8'),
      ) as Journal['data'];
      const reinstall = rolledBack.rollback.find((r) => r.name === 'reinstall-legacy')!;
      // The legacy reinstall started only once the orphaned npm had finished: the two never wrote the global folder at once.
      expect(Date.parse(reinstall.startedAt)).toBeGreaterThanOrEqual(orphanGoneAt! - 25);
      await expectOnRewrite(sb, facts, before);
    } finally {
      clearInterval(watch);
    }
  }, 180_000);
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
    expect(res.stderr).toContain('ao-legacy-import: rolling back the interrupted ao-legacy-import cutover');
    await expectOnRewrite(sb, facts, before, 'ao-legacy-import');
    expect((await ao(sb, ['status'])).stderr).not.toContain('ao-legacy-import');
    expect((await readdir(join(sb.home, '.ao', 'backups'))).some((d) => d.startsWith('legacy-'))).toBe(true);
  }, 120_000);
});
