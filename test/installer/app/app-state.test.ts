import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_STATE_FILE, clearAppState, recordAppState, windowsInstalledApp } from '../../../installer/app/app-state.js';
import { extractArtifact } from '../../../common/app-extract.js';
import { nsisInstallCommand } from '../../../installer/app/windows-installer.js';
import { buildAppArtifact, MAC_BUNDLE, rawZip } from '../../../rehearsal/app-fixtures.js';
import { tempDir } from './helpers.js';

describe('app-state.json, as the real ao start reads it', () => {
  it('keeps a marker the app wrote for a newer version that still exists', async () => {
    const dir = await tempDir('state');
    const newer = join(dir, 'newer.AppImage');
    await writeFile(newer, 'x');
    const theirs = {
      schemaVersion: 2,
      appPath: newer,
      version: '0.11.0',
      installedAt: '2026-01-01T00:00:00.000Z',
      lastReconciledAt: '2026-11-01T00:00:00.000Z',
      installSource: 'npm-bootstrap',
    };
    await writeFile(join(dir, APP_STATE_FILE), JSON.stringify(theirs));
    const outcome = await recordAppState(join(dir, 'ours.AppImage'), '0.10.0', { dir, platform: 'linux' });
    expect(outcome.written).toBe(false);
    expect(JSON.parse(await readFile(join(dir, APP_STATE_FILE), 'utf8'))).toEqual(theirs);
  });

  it('replaces a marker whose app is gone, keeping the fields the app owns', async () => {
    const dir = await tempDir('state');
    await writeFile(
      join(dir, APP_STATE_FILE),
      JSON.stringify({
        schemaVersion: 2,
        appPath: join(dir, 'gone.AppImage'),
        version: '0.11.0',
        installedAt: '2026-01-01T00:00:00.000Z',
        lastReconciledAt: 'x',
        installSource: 'npm-bootstrap',
        migration: { status: 'completed' },
      }),
    );
    const ours = join(dir, 'ours.AppImage');
    const outcome = await recordAppState(ours, '0.10.0', { dir, platform: 'linux', now: new Date('2026-11-21T00:00:00.000Z') });
    expect(outcome.written).toBe(true);
    expect(JSON.parse(await readFile(join(dir, APP_STATE_FILE), 'utf8'))).toEqual({
      schemaVersion: 2,
      appPath: ours,
      version: '0.10.0',
      installedAt: '2026-01-01T00:00:00.000Z',
      lastReconciledAt: '2026-11-21T00:00:00.000Z',
      installSource: 'npm-bootstrap',
      migration: { status: 'completed' },
    });
    expect((await stat(join(dir, APP_STATE_FILE))).mode & 0o777).toBe(0o600);
  });

  it('ao-app remove clears only a marker that points into its own folder', async () => {
    const dir = await tempDir('state');
    await recordAppState('/Applications/Agent Orchestrator.app', '0.10.0', { dir, platform: 'darwin' });
    expect((await clearAppState(join(dir, 'app'), dir)).cleared).toBe(false);
    expect(existsSync(join(dir, APP_STATE_FILE))).toBe(true);
    await recordAppState(join(dir, 'app', 'versions', 'v', 'x.AppImage'), '0.10.0', { dir, platform: 'linux' });
    expect((await clearAppState(join(dir, 'app'), dir)).cleared).toBe(true);
    expect(existsSync(join(dir, APP_STATE_FILE))).toBe(false);
  });

  // `ao-app remove --dir /opt` for an app installed with `--dir /opt/ao-app`: nothing of ao-app's is in /opt itself, and the
  // app stays, but the marker naming it had been cleared, so ao start downloaded its own, unverified copy.
  it('ao-app remove of a folder that holds another app folder deeper down keeps the marker naming that app', async () => {
    const dir = await tempDir('state');
    await recordAppState(join(dir, 'opt', 'ao-app', 'versions', '0.10.0-linux-x64', 'x.AppImage'), '0.10.0', { dir, platform: 'linux' });
    expect((await clearAppState(join(dir, 'opt'), dir)).cleared).toBe(false);
    expect(existsSync(join(dir, APP_STATE_FILE))).toBe(true);
  });

  // The app keeps its legacy-import decision in the marker (`migration`, next to the launch fields): deleted with the
  // marker, an app installed again later (from the website, say) asked to import the legacy projects again.
  it('ao-app remove keeps what the app recorded in the marker besides where it is (its migration decision), naming no app', async () => {
    const dir = await tempDir('state');
    const app = join(dir, 'app', 'versions', '0.10.0-linux-x64', 'x.AppImage');
    await writeFile(
      join(dir, APP_STATE_FILE),
      JSON.stringify({
        schemaVersion: 2,
        appPath: app,
        version: '0.10.0',
        installedAt: '2026-01-01T00:00:00.000Z',
        lastReconciledAt: '2026-11-01T00:00:00.000Z',
        installSource: 'ao-app',
        migration: { status: 'declined', lastAttemptAt: '2026-11-01T00:00:00.000Z' },
      }),
    );
    expect((await clearAppState(join(dir, 'app'), dir)).cleared).toBe(true);
    // ao start reads appPath "" as no app (it stats nothing and scans the known places), as the app's own marker without one.
    expect(JSON.parse(await readFile(join(dir, APP_STATE_FILE), 'utf8'))).toEqual({
      schemaVersion: 2,
      appPath: '',
      version: '',
      migration: { status: 'declined', lastAttemptAt: '2026-11-01T00:00:00.000Z' },
    });
    expect((await stat(join(dir, APP_STATE_FILE))).mode & 0o777).toBe(0o600);
  });

  it("clears the temporary marker a killed ao-app left in ~/.ao, and keeps one a live process may still rename (ao-app's or the app's own)", async () => {
    const dir = await tempDir('state');
    // A pid that named a process a moment ago and names none now: what a SIGKILL between write and rename leaves.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const killed = [`.app-state.json.tmp-${gone}-lz1abc`, `.app-state.json.tmp-${gone}-lz1abd`];
    // This test's own process is alive: its write may be between the two steps. The app names its own temp
    // `.app-state-<pid>-<ms>.json` (frontend/src/main/app-state.ts): the app's to clear, whatever its pid.
    const live = [`.app-state.json.tmp-${process.pid}-lz1abe`, `.app-state-${gone}-1763797200000.json`];
    for (const name of [...killed, ...live]) await writeFile(join(dir, name), '{"schema');
    await recordAppState(join(dir, 'versions', '0.10.0-linux-x64', 'ours.AppImage'), '0.10.0', { dir, platform: 'linux' });
    expect((await readdir(dir)).sort()).toEqual([...live, APP_STATE_FILE].sort());
    // remove, which rewrites or deletes the marker, clears them too.
    await writeFile(join(dir, killed[0]!), '{"schema');
    expect((await clearAppState(dir, dir)).cleared).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([...live].sort());
  });
});

describe('the Windows NSIS installer', () => {
  it('is run silently with /S and lands where ao start looks', () => {
    expect(nsisInstallCommand('C:\\Users\\u\\.ao\\app\\versions\\0.10.0-win32-x64\\agent-orchestrator-win32-x64.exe')).toEqual({
      file: 'C:\\Users\\u\\.ao\\app\\versions\\0.10.0-win32-x64\\agent-orchestrator-win32-x64.exe',
      args: ['/S'],
    });
    expect(windowsInstalledApp('C:\\Users\\u\\AppData\\Local')).toBe('C:\\Users\\u\\AppData\\Local\\Programs\\Agent Orchestrator\\agent-orchestrator.exe');
  });
});

describe('the macOS zip, unpacked as ditto would', () => {
  it('keeps symlinks, exact modes and the code signature byte for byte, and drops __MACOSX litter', async () => {
    const dir = await tempDir('ditto');
    const built = await buildAppArtifact('darwin', join(dir, 'agent-orchestrator-darwin-arm64.zip'), 64 << 10);
    // Finder-made zips carry AppleDouble files under __MACOSX/.
    await mkdir(join(built.tree!, '__MACOSX', MAC_BUNDLE), { recursive: true });
    await writeFile(join(built.tree!, '__MACOSX', MAC_BUNDLE, '._Contents'), 'resource fork');
    execFileSync('zip', ['-q', '-r', built.file, '__MACOSX'], { cwd: built.tree });
    const staging = join(dir, 'out');
    await extractArtifact('zip', built.file, staging, 16 << 20, 'agent-orchestrator-darwin-arm64.zip');
    expect(existsSync(join(staging, '__MACOSX'))).toBe(false);
    const sig = join(MAC_BUNDLE, 'Contents', '_CodeSignature', 'CodeResources');
    expect(await readFile(join(staging, sig))).toEqual(await readFile(join(built.tree!, sig)));
    const helper = join(MAC_BUNDLE, 'Contents', 'Frameworks', 'X.framework', 'Versions', 'A', 'Resources', 'helper');
    expect((await stat(join(staging, helper))).mode & 0o777).toBe(0o750);
    const fw = join(staging, MAC_BUNDLE, 'Contents', 'Frameworks', 'X.framework');
    expect((await lstat(join(fw, 'Versions', 'Current'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(fw, 'X'))).toBe('Versions/Current/X');
  });

  it('drops the AppleDouble companions ditto stores beside each file (._name next to name), which it folds back into attributes', async () => {
    const dir = await tempDir('ditto-inline');
    // `ditto -c -k --keepParent` without --sequesterRsrc keeps extended attributes inline as ._<name> (AppleDouble, magic 00 05 16 07).
    const appleDouble = Buffer.concat([Buffer.from([0, 5, 0x16, 7, 0, 2, 0, 0]), Buffer.alloc(18)]);
    const zip = join(dir, 'agent-orchestrator-darwin-arm64.zip');
    await writeFile(
      zip,
      rawZip([
        { name: `${MAC_BUNDLE}/` },
        { name: `._${MAC_BUNDLE}`, data: appleDouble },
        { name: `${MAC_BUNDLE}/Contents/` },
        { name: `${MAC_BUNDLE}/Contents/Info.plist`, data: '<plist/>' },
        { name: `${MAC_BUNDLE}/Contents/._Info.plist`, data: appleDouble },
        { name: `${MAC_BUNDLE}/Contents/MacOS/ao`, data: '#!/bin/sh\n', mode: 0o100755 },
        { name: `${MAC_BUNDLE}/Contents/MacOS/._ao`, data: appleDouble },
      ]),
    );
    const staging = join(dir, 'out');
    const plan = await extractArtifact('zip', zip, staging, 1 << 20, 'agent-orchestrator-darwin-arm64.zip');
    // A file added inside a signed bundle breaks its seal (codesign --verify --strict: "a sealed resource is missing or invalid").
    expect(plan.map((e) => e.path).filter((p) => p.split('/').at(-1)!.startsWith('._'))).toEqual([]);
    expect(await readdir(staging)).toEqual([MAC_BUNDLE]);
    expect((await readdir(join(staging, MAC_BUNDLE, 'Contents'))).sort()).toEqual(['Info.plist', 'MacOS']);
    expect(await readdir(join(staging, MAC_BUNDLE, 'Contents', 'MacOS'))).toEqual(['ao']);
  });
});
