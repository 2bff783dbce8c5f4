import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../../common/progress.js';
import { appPath, installApp, verifyApp } from '../../../installer/app/install.js';
import { rawZip, type RawZipEntry } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { manifestFor, tempDir } from './helpers.js';

/**
 * A zip downloaded from the start is unpacked while it downloads (installer/app/unpack-while-downloading.ts),
 * and nothing of it counts until the whole download matches its pin.
 */
let server: FaultServer;
let dir: string;

beforeAll(async () => {
  server = await startFaultServer();
  dir = await tempDir('overlap');
});
afterAll(() => server.close());

const PLIST = 'App.app/Contents/Info.plist';
const PAYLOAD = randomBytes(3 << 20);

/** An app zip: a small entry first, a 3 MiB one, a symlink, a small one last. `plist` must keep its length. */
function appZip(plist: string): Buffer {
  const entries: RawZipEntry[] = [
    { name: 'App.app/', mode: 0o40755 },
    { name: PLIST, data: plist },
    { name: 'App.app/Contents/Resources/', mode: 0o40755 },
    { name: 'App.app/Contents/Resources/app.asar', data: PAYLOAD },
    { name: 'App.app/Contents/Res', data: 'Resources', mode: 0o120777 },
    { name: 'App.app/Contents/late.txt', data: 'the last entry\n' },
  ];
  return rawZip(entries);
}

async function served(name: string, bytes: Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

/** Looks into the staging folder at every chunk the download takes, while the download is not complete. */
function watchStaging(root: string): { progress: Progress; seen: () => string | undefined } {
  let total = 0;
  let done = 0;
  let seen: string | undefined;
  const progress: Progress = {
    start: (t, already = 0) => void ((total = t ?? 0), (done = already)),
    advance: (bytes) => {
      done += bytes;
      if (seen !== undefined || done >= total) return;
      const staging = readdirSync(join(root, 'versions')).find((n) => n.startsWith('.staging-'));
      const plist = staging && join(root, 'versions', staging, PLIST);
      if (plist && existsSync(plist)) seen = readFileSync(plist, 'utf8');
    },
    finish: () => undefined,
    fail: () => undefined,
  };
  return { progress, seen: () => seen };
}

describe('unpacking a zip while it downloads', () => {
  it('writes entries into staging before the download has finished, and installs the verified app', async () => {
    const root = await tempDir('root');
    const manifest = await manifestFor(server, await served('early.zip', appZip('<plist>genuine</plist>\n')), 'zip', 'darwin-arm64');
    const watch = watchStaging(root);
    server.throttle(1 << 20);
    try {
      const result = await installApp({ manifest, target: 'darwin-arm64', root, progress: watch.progress });
      expect(result).toMatchObject({ status: 'installed', version: '0.10.0' });
    } finally {
      server.throttle(0);
    }
    expect(watch.seen()).toBe('<plist>genuine</plist>\n');
    const installed = (await appPath(root))!;
    // Buffer.equals: toEqual compares 3 MiB element by element.
    expect((await readFile(join(installed, 'App.app/Contents/Resources/app.asar'))).equals(PAYLOAD)).toBe(true);
    expect(await readlink(join(installed, 'App.app/Contents/Res'))).toBe('Resources');
    expect(await readFile(join(installed, 'App.app/Contents/late.txt'), 'utf8')).toBe('the last entry\n');
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, problems: [] });
    expect(await readdir(join(root, 'downloads'))).toEqual([]);
  });

  it('commits nothing from a tampered download whose central directory looks valid, and leaves no staging', async () => {
    const root = await tempDir('root');
    const before = await manifestFor(server, await served('before.zip', appZip('<plist>version 1</plist>\n')), 'zip', 'darwin-arm64', {});
    before.version = '0.9.0';
    await installApp({ manifest: before, target: 'darwin-arm64', root });
    // The release pins the genuine zip; the server sends one of the same size whose entries and central
    // directory agree with each other (every CRC-32 right), with other bytes in the first entry.
    const genuine = appZip('<plist>genuine</plist>\n');
    const manifest = await manifestFor(server, await served('genuine.zip', genuine), 'zip', 'darwin-arm64');
    const tampered = appZip('<plist>TAMPERED</plist>');
    expect(tampered.length).toBe(genuine.length);
    manifest.targets['darwin-arm64'].urls = [`${server.url}/tampered.zip`];
    await server.serve('/tampered.zip', await served('tampered.zip', tampered));
    const watch = watchStaging(root);
    server.throttle(1 << 20);
    try {
      await expect(installApp({ manifest, target: 'darwin-arm64', root, progress: watch.progress })).rejects.toMatchObject({ code: 'EINTEGRITY' });
    } finally {
      server.throttle(0);
    }
    // The tampered entry was unpacked into staging while the bytes came in: only the pin stopped it.
    expect(watch.seen()).toBe('<plist>TAMPERED</plist>');
    expect(await readdir(join(root, 'versions'))).toEqual(['0.9.0-darwin-arm64']);
    expect(await readdir(join(root, 'downloads'))).toEqual([]);
    expect(await appPath(root)).toBe(join(root, 'versions', '0.9.0-darwin-arm64'));
    expect(await readFile(join(root, 'current', PLIST), 'utf8')).toBe('<plist>version 1</plist>\n');
  });

  it('installs from a server that ignores Range, unpacking after the download', async () => {
    const root = await tempDir('root');
    const manifest = await manifestFor(server, await served('norange.zip', appZip('<plist>genuine</plist>\n')), 'zip', 'darwin-arm64');
    const requestsBefore = server.requests.length;
    server.fault('/norange.zip', { kind: 'ignore-range' }, { kind: 'ignore-range' });
    const watch = watchStaging(root);
    server.throttle(1 << 20);
    try {
      expect(await installApp({ manifest, target: 'darwin-arm64', root, progress: watch.progress })).toMatchObject({ status: 'installed' });
    } finally {
      server.throttle(0);
    }
    const asked = server.requests.slice(requestsBefore).filter((r) => r.path === '/norange.zip');
    // The request for the central directory got the whole file (200), which was dropped unread.
    expect(asked.filter((r) => /^bytes=\d+-\d+$/.test(r.range ?? '')).map((r) => r.status)).toEqual([200]);
    expect(watch.seen()).toBeUndefined();
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, problems: [] });
    expect(await readlink(join((await appPath(root))!, 'App.app/Contents/Res'))).toBe('Resources');
  });
});
