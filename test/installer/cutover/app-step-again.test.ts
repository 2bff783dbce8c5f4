import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostTargetId } from '../../../common/app-manifest.js';
import { installApp } from '../../../installer/app/install.js';
import { fetchAppStep, installedPackageAppFetcher } from '../../../installer/cutover/steps/app.js';
import { manifestFor, writePadding } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { appStepEnv, installedPackage, packageWithApp } from './installed-package.js';

// Its own file: app-step.test.ts's Ctrl-C cases leave the cutover's held interrupt set for the rest of their module,
// as a real ao update does once interrupted (it rolls back and ends), which stops any later download at once.
let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer();
});
afterAll(() => server.close());

describe("the cutover's app step over an app ao-app installed", () => {
  // A user who ran ao-app install of this release before ao update (the release notes say so): the step re-hashes it and
  // downloads nothing, and a folder that holds another release gets this one once.
  it.runIf(hostTargetId() === 'linux-x64')('after ao-app install of the same release downloads nothing, and after another release downloads once', async () => {
    const { dir, manifest, globalRoot } = await packageWithApp(server, '/step-again.AppImage', 256 << 10);
    const home = join(globalRoot, 'home');
    const env = appStepEnv(home);
    try {
      const first = await installApp({ manifest, root: join(home, 'app'), stateDir: join(home, '.ao') });
      expect(server.requests.filter((r) => r.path === '/step-again.AppImage')).toHaveLength(1);
      const outcome = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), { home, env, log: () => undefined });
      expect(outcome).toEqual({ status: 'fetched', path: first.path });
      expect(server.requests.filter((r) => r.path === '/step-again.AppImage')).toHaveLength(1);

      const newer = join(dir, 'newer', 'agent-orchestrator-linux-x64.AppImage');
      await mkdir(join(dir, 'newer'));
      await writePadding(newer, 300 << 10);
      const next = await manifestFor(server, newer, 'AppImage', 'linux-x64', {}, { path: '/step-again-2.AppImage', version: '0.11.0' });
      const nextRoot = await installedPackage(next);
      try {
        const upgraded = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot: nextRoot }), { home, env, log: () => undefined });
        expect(upgraded).toMatchObject({ status: 'fetched', path: expect.stringContaining('0.11.0') });
        expect(server.requests.filter((r) => r.path === '/step-again-2.AppImage')).toHaveLength(1);
      } finally {
        await rm(nextRoot, { recursive: true, force: true });
      }
    } finally {
      await rm(globalRoot, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
