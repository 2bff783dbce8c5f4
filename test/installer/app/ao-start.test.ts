import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_STATE_FILE } from '../../../installer/app/app-state.js';
import { writePadding } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { canRunRealRewrite, realRewriteBinary } from '../../support/real-rewrite.js';
import { bundledCli, manifestFor, tempDir, writeManifest } from './helpers.js';

/**
 * `ao-app` and the REAL rewrite's `ao start` (0.10.3) agree: after a verified
 * install, `ao start --json` opens the app ao-app installed, found through
 * ~/.ao/app-state.json, with its own download blocked (a proxy on a closed port).
 * The "app" is a tiny script that records it was started: nothing GUI runs.
 */
let server: FaultServer;
let cli: string;
let ao: string;
let closedPort: number;

beforeAll(async () => {
  server = await startFaultServer();
  cli = await bundledCli();
  if (canRunRealRewrite) ao = await realRewriteBinary();
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}, 180_000);
afterAll(() => server.close());

function run(file: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function recordingAppImage(dir: string): Promise<string> {
  const file = join(dir, 'agent-orchestrator-linux-x64.AppImage');
  await writeFile(file, '#!/bin/sh\necho "started $*" >> "$HOME/app-started.log"\nexit 0\n', { mode: 0o755 });
  await writePadding(file, 256 << 10, 'a');
  return file;
}

describe.runIf(canRunRealRewrite)('ao-app and the real ao start', () => {
  it('ao start opens the app ao-app installed and verified, without downloading; after ao-app remove it no longer does', async () => {
    const home = await tempDir('home');
    const artifact = await recordingAppImage(await tempDir('art'));
    const manifestFile = await writeManifest(await tempDir('m'), await manifestFor(server, artifact, 'AppImage', 'linux-x64'));
    const blocked = `http://127.0.0.1:${closedPort}`;
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HTTPS_PROXY: blocked,
      HTTP_PROXY: blocked,
      https_proxy: blocked,
      http_proxy: blocked,
      NO_PROXY: '',
      no_proxy: '',
    };

    // Async: the artifact server runs in this process.
    const install = await run(process.execPath, [cli, 'install', '--json', '--manifest', manifestFile], {
      ...env,
      NO_PROXY: '127.0.0.1',
      no_proxy: '127.0.0.1',
    });
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
    const result = JSON.parse(install.stdout.trim().split('\n').at(-1)!);
    expect(result.appPath).toBe(join(home, '.ao', 'app', 'versions', '0.10.0-linux-x64', 'agent-orchestrator-linux-x64.AppImage'));

    const markerFile = join(home, '.ao', APP_STATE_FILE);
    const marker = JSON.parse(await readFile(markerFile, 'utf8'));
    expect(Object.keys(marker).sort()).toEqual(['appPath', 'installSource', 'installedAt', 'lastReconciledAt', 'schemaVersion', 'version']);
    expect(marker).toMatchObject({ schemaVersion: 1, appPath: result.appPath, version: '0.10.0', installSource: 'ao-app' });
    expect((await stat(markerFile)).mode & 0o777).toBe(0o600);

    const start = spawnSync(ao, ['start', '--json'], { env, encoding: 'utf8', timeout: 60_000, input: '' });
    expect(start.status).toBe(0);
    expect(JSON.parse(start.stdout)).toEqual({ resolved: true, fetched: false, opened: true, appPath: result.appPath });
    const log = join(home, 'app-started.log');
    for (let i = 0; i < 100 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await readFile(log, 'utf8')).toBe('started --installed-via=npm-bootstrap\n');

    const remove = spawnSync(process.execPath, [cli, 'remove', '--quiet'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(remove.status).toBe(0);
    expect(existsSync(markerFile)).toBe(false);
    // Nothing left to resolve: the real ao start now tries its own (blocked) download and fails.
    const again = spawnSync(ao, ['start', '--json'], { env, encoding: 'utf8', timeout: 60_000, input: '' });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/agent-orchestrator-linux-x64\.AppImage/);
  });
});
