import { generateKeyPairSync } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appTargets, loadMatrix } from '../../../common/matrix.js';
import { appPath, installApp } from '../../../installer/app/install.js';
import { MAIN_PACKAGE_FILES } from '../../../release/main-package.js';
import { buildAppManifest, checkAppArtifact } from '../../../release/app-manifest.js';
import { stage } from '../../../release/stage.js';
import { buildReleaseApps, hostileArchives, rawZip } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { fixtureBinaries } from '../../../rehearsal/fixture-binaries.js';
import { bundledCli, tempDir } from './helpers.js';

const exec = promisify(execFile);

const matrix = loadMatrix();
let server: FaultServer;
let artifactsDir: string;

beforeAll(async () => {
  server = await startFaultServer();
  artifactsDir = await tempDir('release-artifacts');
  const some = appTargets(matrix).filter((t) => ['darwin-arm64', 'linux-x64'].includes(t.id));
  await buildReleaseApps(some, artifactsDir, 300 << 10);
  // Only the mirror has the files: the primary answers 404.
  for (const target of some) await server.serve(`/mirror/${target.app.file}`, join(artifactsDir, target.app.file));
}, 120_000);
afterAll(() => server.close());

describe('the release app manifest', () => {
  it('pins size, sha512 and an unpacked cap above the real total, signed with Ed25519', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const manifest = await buildAppManifest({
      matrix,
      version: '0.10.0',
      artifactsDir,
      baseUrls: ['https://dl.example/ao/0.10.0', 'https://mirror.example/ao'],
      signingKey: privateKey,
      allowMissing: true,
    });
    expect(Object.keys(manifest.targets).sort()).toEqual(['darwin-arm64', 'linux-x64']);
    const linux = manifest.targets['linux-x64']!;
    expect(linux.format).toBe('AppImage');
    expect(linux.urls).toEqual([
      'https://dl.example/ao/0.10.0/agent-orchestrator-linux-x64.AppImage',
      'https://mirror.example/ao/agent-orchestrator-linux-x64.AppImage',
    ]);
    expect(linux.unpackedSizeLimit).toBeGreaterThan(300 << 10);
    expect(manifest.publicKey).toMatch(/BEGIN PUBLIC KEY/);
    expect(linux.signature).toBeTruthy();
  });

  it('refuses an artifact users would refuse, with the same checks (checkAppArtifact)', async () => {
    const dir = await tempDir('hostile-release');
    const hostile = hostileArchives().find((h) => h.name === 'zip: symlink pointing outside')!;
    await writeFile(join(dir, 'agent-orchestrator-darwin-arm64.zip'), hostile.bytes);
    await expect(checkAppArtifact(join(dir, 'agent-orchestrator-darwin-arm64.zip'), 'zip', 'darwin-arm64')).rejects.toMatchObject({ code: 'EUNSAFEARCHIVE' });
    await expect(
      buildAppManifest({ matrix, version: '0.10.0', artifactsDir: dir, baseUrls: ['https://dl.example'], allowMissing: true }),
    ).rejects.toMatchObject({ code: 'EAPPARTIFACT', why: expect.stringMatching(/^users' ao-app would refuse it: symlink .*points outside/) });
  });

  it("refuses a macOS zip with no .app at its top, as users' ao-app does, before anything is published", async () => {
    const dir = await tempDir('nested-release');
    // The bundle zipped one folder too deep, as a packaging step that zips its output folder does.
    const nested = rawZip([
      { name: 'mac-arm64/Agent Orchestrator.app/Contents/Info.plist', data: '<plist/>' },
      { name: 'mac-arm64/Agent Orchestrator.app/Contents/MacOS/ao', data: '#!/bin/sh\n', mode: 0o100755 },
    ]);
    await writeFile(join(dir, 'agent-orchestrator-darwin-arm64.zip'), nested);
    await expect(
      buildAppManifest({ matrix, version: '0.10.0', artifactsDir: dir, baseUrls: ['https://dl.example'], allowMissing: true }),
    ).rejects.toMatchObject({ code: 'EAPPARTIFACT', why: expect.stringMatching(/no \.app bundle at its top/) });
    // The same bytes as a Linux tar.gz or zip name no bundle: only macOS opens one.
    await expect(checkAppArtifact(join(dir, 'agent-orchestrator-darwin-arm64.zip'), 'zip', 'win32-x64')).resolves.toBeGreaterThan(0);
  });

  it("refuses a Windows zip holding a name Windows cannot hold, as users' ao-app there does, and the same bytes for Linux", async () => {
    const dir = await tempDir('windows-names-release');
    const file = join(dir, 'ao-desktop-win32-x64.zip');
    await writeFile(
      file,
      rawZip([
        { name: 'Ao/Ao.exe', data: 'MZ' },
        { name: 'Ao/resources/aux.txt', data: 'notes' },
      ]),
    );
    await expect(checkAppArtifact(file, 'zip', 'win32-x64')).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      why: expect.stringMatching(/"Ao\/resources\/aux.txt" cannot be written on Windows: .* the Windows device AUX/),
    });
    await expect(checkAppArtifact(file, 'zip', 'linux-x64')).resolves.toBeGreaterThan(0);
  });

  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
    "a temp folder too full to unpack into is the release machine's own trouble, not an artifact users would refuse",
    async () => {
      const small = await tempDir('full-tmp');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
      const tmp = process.env.TMPDIR;
      process.env.TMPDIR = small;
      try {
        const err = await buildAppManifest({ matrix, version: '0.10.0', artifactsDir, baseUrls: ['https://dl.example'], allowMissing: true }).catch((e) => e);
        expect(err).toMatchObject({ code: 'ENOSPC' });
      } finally {
        if (tmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = tmp;
        execFileSync('umount', [small]);
      }
    },
  );

  it('names the missing artifact when one is absent', async () => {
    await expect(buildAppManifest({ matrix, version: '0.10.0', artifactsDir, baseUrls: ['https://dl.example'] })).rejects.toMatchObject({
      code: 'EAPPMANIFEST',
      message: expect.stringMatching(/agent-orchestrator-darwin-x64\.zip/),
    });
  });

  it('travels inside the main package tarball and installs from it through a mirror', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const app = await buildAppManifest({
      matrix,
      version: '0.10.0',
      artifactsDir,
      baseUrls: [`${server.url}/primary`, `${server.url}/mirror`],
      signingKey: privateKey,
      allowMissing: true,
    });
    const shippedDir = await tempDir('shipped');
    for (const f of MAIN_PACKAGE_FILES) await writeFile(join(shippedDir, f.from), '// stand-in: this test is about the manifest\n');
    await copyFile(await bundledCli(), join(shippedDir, 'app-fetcher.cjs'));
    const staged = await stage({ matrix, version: '0.10.0', binariesDir: await fixtureBinaries('0.10.0'), outDir: await tempDir('stage'), app, shippedDir });
    const main = staged.packages.at(-1)!;
    const unpacked = await tempDir('main-pkg');
    await mkdir(unpacked, { recursive: true });
    await tar.x({ file: main.tarball, cwd: unpacked });
    const shipped = JSON.parse(await readFile(join(unpacked, 'package', 'ao-manifest.json'), 'utf8'));
    expect(shipped.app).toEqual(app);

    const root = await tempDir('root');
    const result = await installApp({ manifest: shipped.app, target: 'linux-x64', root, backoffBaseMs: 10 });
    expect(result.status).toBe('installed');
    expect(await appPath(root)).toBe(result.path);
    expect(server.requests.some((r) => r.path.startsWith('/primary/') && r.status === 404)).toBe(true);

    // The shipped command finds the manifest in its own package by default.
    const root2 = await tempDir('root');
    const { stdout } = await exec(join(unpacked, 'package', 'lib', 'ao-app'), ['install', '--json', '--target', 'darwin-arm64', '--dir', root2]);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'result', status: 'installed', target: 'darwin-arm64' });
  });
});
