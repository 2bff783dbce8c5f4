import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppArtifact, buildElectronLikeZip } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { PEAK_RSS_PRELOAD, peakRssKb } from '../../../rehearsal/peak-rss.js';
import { bundledCli, manifestFor, tempDir, writeManifest } from './helpers.js';

/**
 * Peak memory of the real command on a ~60 MB app. Streamed end to end, the
 * peak is Node itself (~40 MB) plus the bundle (~17 MB) plus a bounded churn;
 * before memory.ts it was ~112 MB for any artifact of 50 MB or more (TurboFan
 * compiling undici's wasm parser, dead read buffers piling up between GCs).
 * The bounds are loose for the single-file cases (28-29 MB over what is
 * measured: they catch the ~110 MB regression, not a few MB) and hold the
 * issue's 80 MB for the Electron-like zip (13 MB over). The peak
 * is the kernel's high-water mark of the child's own memory (VmHWM, see
 * rehearsal/peak-rss.ts: getrusage's maxRSS also counted this vitest worker's
 * RSS at the fork), so CPU contention from other test files does not move it much.
 */
const SIZE = 60 << 20;
// Measured (VmHWM) with the fix: zip 61-62 MB, tar.gz 66 MB (node-tar itself adds ~5 MB, loaded only for
// tar.gz); with TurboFan on, 66-68 and 72-75 MB. Without the fix (maxRSS then): 109 and 119 MB.
const BOUND_MB = { zip: 90, 'tar.gz': 95 };

let server: FaultServer;
let cli: string;
let dir: string;
let reporter: string;

beforeAll(async () => {
  server = await startFaultServer();
  cli = await bundledCli();
  dir = await tempDir('memory');
  reporter = join(dir, 'peak-rss.cjs');
  await writeFile(reporter, PEAK_RSS_PRELOAD);
}, 120_000);
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function peakRssOfInstall(manifestFile: string, target: string, root: string): Promise<number> {
  const child = spawn(process.execPath, ['--require', reporter, cli, 'install', '--quiet', '--manifest', manifestFile, '--target', target, '--dir', root], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // A sandboxed HOME: the linux-x64 install is this machine's target and writes ~/.ao/app-state.json.
    env: { ...process.env, HOME: root, AO_RUN_FILE: '' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, stderr).toBe(0);
  return peakRssKb(stderr) ?? 0;
}

describe('memory of ao-app install', () => {
  for (const [kind, format, target] of [
    ['darwin', 'zip', 'darwin-arm64'],
    ['linux', 'tar.gz', 'linux-x64'],
  ] as const) {
    it(`stays under ${BOUND_MB[format]} MB peak RSS installing a 60 MB ${format}`, async () => {
      const artifact = (await buildAppArtifact(kind, join(dir, kind, `ao-desktop-${target}.${format}`), SIZE)).file;
      const manifest = await manifestFor(server, artifact, format, target, { unpackedSizeLimit: 2 * SIZE });
      const root = join(dir, `root-${kind}`);
      const peakKb = await peakRssOfInstall(await writeManifest(join(dir, kind), manifest), target, root);
      await rm(root, { recursive: true, force: true });
      expect(peakKb, `peak RSS ${(peakKb / 1024).toFixed(1)} MB`).toBeGreaterThan(0);
      expect(peakKb, `peak RSS ${(peakKb / 1024).toFixed(1)} MB`).toBeLessThan(BOUND_MB[format] * 1024);
    }, 120_000);
  }

  // An Electron app's ~3,163 entries (plan, per-file digests, the marker) cost more than one big file.
  // The goal, 80 MB (1 MB = 10^6 bytes, as in the bench). Measured on this 46 MB zip: 67.4-68.0 MB
  // (TurboFan off, common/streaming-memory.ts); 74.4-75.3 MB with it on. The 78-84 MB read here before
  // was mostly this vitest worker's own RSS, which getrusage's maxRSS counts from the fork.
  it('stays under 80 MB peak RSS installing an Electron-like zip of 3,163 entries', async () => {
    const artifact = await buildElectronLikeZip(join(dir, 'electron-like', 'agent-orchestrator-darwin-arm64.zip'), SIZE);
    const manifest = await manifestFor(server, artifact, 'zip', 'darwin-arm64', { unpackedSizeLimit: 2 * SIZE });
    const root = join(dir, 'root-electron-like');
    const peakBytes = (await peakRssOfInstall(await writeManifest(join(dir, 'electron-like'), manifest), 'darwin-arm64', root)) * 1024;
    await rm(root, { recursive: true, force: true });
    expect(peakBytes, `peak RSS ${(peakBytes / 1e6).toFixed(1)} MB`).toBeGreaterThan(0);
    expect(peakBytes, `peak RSS ${(peakBytes / 1e6).toFixed(1)} MB`).toBeLessThan(80e6);
  }, 120_000);
});
