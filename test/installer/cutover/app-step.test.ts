import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostTargetId } from '../../../common/app-manifest.js';
import { acquireLock } from '../../../common/lock.js';
import { withSignalsDeferred } from '../../../installer/cutover/journal.js';
import { fetchAppStep, installedPackageAppFetcher } from '../../../installer/cutover/steps/app.js';
import { manifestFor, writePadding } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { appStepEnv, ctrlCAt, installedPackage, packageWithApp } from './installed-package.js';

let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer();
});
afterAll(() => server.close());

describe("the cutover's app step", () => {
  // ao update prints this reason and keeps it in its journal; ao-app's own output is redacted the same way.
  it('a failed fetch is reported without the password or token its download URL carried', async () => {
    const outcome = await fetchAppStep(
      async () => {
        throw new Error('cannot download the desktop app https://alice:s3cretPW@mirror.example/app.zip?token=T0KEN42: it answered 500');
      },
      { home: '/nonexistent', env: {}, log: () => undefined },
    );
    expect(outcome).toMatchObject({ status: 'failed', later: 'ao-app install' });
    const { reason } = outcome as { reason: string };
    expect(reason).toContain('https://alice:***@mirror.example/app.zip?token=***');
    expect(reason).not.toMatch(/s3cretPW|T0KEN42/);
  });

  // The real release ships no linux-arm64 or win32-arm64 app: ao update there had "failed" and told the user to run
  // ao-app install later, which can only fail the same way.
  it('a release with no app for this platform is skipped, saying so, with no command to run later', async () => {
    const other = hostTargetId() === 'darwin-arm64' ? 'linux-x64' : 'darwin-arm64';
    const target = {
      file: 'app.zip',
      format: 'zip',
      urls: ['https://downloads.invalid/app.zip'],
      size: 1,
      integrity: `sha512-${'A'.repeat(86)}==`,
      unpackedSizeLimit: 1 << 20,
    };
    const globalRoot = await installedPackage({ schema: 1, version: '0.10.0', targets: { [other]: target } });
    try {
      const home = join(globalRoot, 'home');
      const outcome = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), {
        home,
        env: appStepEnv(home),
        log: () => undefined,
      });
      expect(outcome).toEqual({ status: 'skipped', reason: expect.stringContaining(`there is no desktop app for this platform (${hostTargetId()})`) });
    } finally {
      await rm(globalRoot, { recursive: true, force: true });
    }
  });

  // ao update fetches 182 MB here (tens of minutes on a hotel network): it had printed nothing until the end, a run
  // that looks hung and gets interrupted. Its waits are said too, and a mirror's token in them is not printed.
  it.runIf(hostTargetId() === 'linux-x64')("says how the download goes, and why it waits, in the cutover's own log, printing no token", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ao-app-step-art-'));
    const artifact = join(dir, 'agent-orchestrator-linux-x64.AppImage');
    await writePadding(artifact, 2 << 20);
    const manifest = await manifestFor(server, artifact, 'AppImage', 'linux-x64', {}, { path: '/step-progress.AppImage' });
    manifest.targets['linux-x64'].urls = [`${server.url}/step-progress.AppImage?token=S3CRET42`];
    server.fault('/step-progress.AppImage', { kind: 'retry-after', seconds: 1, status: 503 });
    const globalRoot = await installedPackage(manifest);
    try {
      const home = join(globalRoot, 'home');
      const lines: string[] = [];
      const outcome = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), {
        home,
        env: appStepEnv(home),
        log: (line) => lines.push(line),
      });
      expect(outcome).toMatchObject({ status: 'fetched' });
      const said = lines.join('\n');
      expect(said).toMatch(/desktop app: .*503; trying again in 1 s/);
      expect(said).toMatch(/desktop app: 100%/);
      expect(said).toContain('token=***');
      expect(said).not.toContain('S3CRET42');
    } finally {
      await rm(globalRoot, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  // ao update holds Ctrl-C until the running step ends, then rolls back. The app step is a 182 MB download (tens of minutes
  // on a hotel network): Ctrl-C had been held until the whole app was downloaded and installed, only to roll it all back.
  it.runIf(hostTargetId() === 'linux-x64')('a Ctrl-C during the download stops it at once, keeping its bytes for ao-app install to resume', async () => {
    const size = 8 << 20;
    const { dir, globalRoot } = await packageWithApp(server, '/step-sigint.AppImage', size);
    // 8 s of download: the Ctrl-C lands early in it.
    server.throttle(1 << 20);
    try {
      const home = join(globalRoot, 'home');
      // At the first progress line: bytes are coming in.
      const ctrlC = ctrlCAt(/ \d+% /);
      const { value: outcome, signal } = await withSignalsDeferred(() =>
        fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), { home, env: appStepEnv(home), log: ctrlC.log }),
      );
      expect(ctrlC.pressed()).toBe(true);
      expect(signal).toBe('SIGINT');
      expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(/interrupted/), later: 'ao-app install' });
      // Not the whole app: the download stopped when asked.
      expect(server.bytesSent('/step-sigint.AppImage')).toBeLessThan(size);
      expect(existsSync(join(home, 'app', 'downloads', 'agent-orchestrator-linux-x64.AppImage.partial'))).toBe(true);
      expect(existsSync(join(home, 'app', 'current'))).toBe(false);
      expect(existsSync(join(home, 'app', '.lock'))).toBe(false);
    } finally {
      server.throttle(0);
      await rm(globalRoot, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Another ao-app install in another terminal holds the app folder: the step waits for it (up to 15 minutes), and a
  // Ctrl-C had been held for all of that wait.
  it.runIf(hostTargetId() === 'linux-x64')(
    'a Ctrl-C while waiting for another ao-app to finish stops the wait at once',
    async () => {
      const { dir, globalRoot } = await packageWithApp(server, '/step-sigint-lock.AppImage', 64 << 10);
      const home = join(globalRoot, 'home');
      // A live holder (this process) of the app folder's lock.
      const other = await acquireLock(join(home, 'app', '.lock'), { purpose: 'the desktop app installer' });
      try {
        const ctrlC = ctrlCAt(/waiting for another ao-app/);
        const { value: outcome, signal } = await withSignalsDeferred(() =>
          fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), { home, env: appStepEnv(home), log: ctrlC.log }),
        );
        expect(ctrlC.pressed()).toBe(true);
        expect(signal).toBe('SIGINT');
        expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(/interrupted/), later: 'ao-app install' });
        expect(server.requests.filter((r) => r.path === '/step-sigint-lock.AppImage')).toHaveLength(0);
      } finally {
        await other.release();
        await rm(globalRoot, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  // `sudo ao update` (a distro's Node needs sudo for global installs): the app went into root's home, 182 MB that the
  // user's own ao start, which reads their ~/.ao, never opens.
  it.runIf(process.getuid?.() === 0 && hostTargetId() === 'linux-x64')(
    'under sudo, fetches nothing for root and says to run ao-app install as the user',
    async () => {
      const { dir, globalRoot } = await packageWithApp(server, '/step-sudo.AppImage', 64 << 10);
      try {
        const home = join(globalRoot, 'root-home');
        const outcome = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), {
          home,
          env: appStepEnv(home, { AO_APP_DIR: '', SUDO_UID: '1000', SUDO_USER: 'alice' }),
          log: () => undefined,
        });
        expect(outcome).toEqual({ status: 'skipped', reason: expect.stringMatching(/sudo.*run ao-app install as alice, without sudo/) });
        expect(server.requests.filter((r) => r.path === '/step-sudo.AppImage')).toHaveLength(0);
      } finally {
        await rm(globalRoot, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
