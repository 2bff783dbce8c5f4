import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadMatrix } from '../../common/matrix.js';
import { extractArtifact } from '../../common/app-extract.js';
import { checkReleaseApp } from '../../release/stage.js';
import { buildReleaseApps, rawZip } from '../../rehearsal/app-fixtures.js';
import { cliJson } from './run-cli.js';

const exec = promisify(execFile);
// The real release ships Linux as an AppImage; tar.gz, the format tools write with "./" entries, is still one a
// matrix may name, so these tests release linux-x64 as a tar.gz through --matrix.
const matrix = loadMatrix();
const linux = matrix.targets.find((t) => t.id === 'linux-x64')!;
linux.app = { file: 'agent-orchestrator-linux-x64.tar.gz', format: 'tar.gz' };
let matrixFile: string;

/** How users' ao-app treats an artifact: the outcome of its own extraction. */
async function userSide(artifact: string, format: 'tar.gz'): Promise<string> {
  const staging = await mkdtemp(join(tmpdir(), 'ao-user-side-'));
  return extractArtifact(format, artifact, join(staging, 'app'), 1 << 30, linux.app!.file).then(
    () => 'accepted',
    (e) => `refused: ${e.why}`,
  );
}

describe('ao-release app-manifest', () => {
  let artifacts: string;
  let key: string;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'ao-app-manifest-cli-'));
    matrixFile = join(root, 'matrix.json');
    await writeFile(matrixFile, JSON.stringify({ ...matrix, $schema: undefined }));
    artifacts = join(root, 'artifacts');
    await buildReleaseApps(matrix.targets, artifacts, 64 * 1024);
    key = join(root, 'app-signing.pem');
    await writeFile(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  it('hashes and signs every matrix artifact into the manifest stage --app takes', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'ao-app-manifest-out-')), 'app.json');
    const { code, body } = await cliJson([
      'app-manifest',
      '--version',
      '0.10.0',
      '--artifacts',
      artifacts,
      '--base-url',
      'https://dl.example.com/ao/0.10.0',
      '--mirror',
      'https://mirror.example.com/ao/0.10.0',
      '--key',
      key,
      '--out',
      out,
      '--matrix',
      matrixFile,
    ]);
    expect(code).toBe(0);
    const manifest = JSON.parse(await readFile(out, 'utf8'));
    expect(checkReleaseApp(manifest, matrix, '0.10.0')).toEqual(body.result.manifest);
    expect(manifest.targets[linux.id].urls).toEqual([
      `https://dl.example.com/ao/0.10.0/${linux.app!.file}`,
      `https://mirror.example.com/ao/0.10.0/${linux.app!.file}`,
    ]);
    for (const t of Object.values(manifest.targets) as Array<{ signature?: string }>) expect(t.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
  });

  it('refuses a base URL users cannot download from, and a missing key, each with the fix', async () => {
    expect((await cliJson(['app-manifest', '--version', '0.10.0', '--artifacts', artifacts, '--base-url', 'ftp://x', '--key', key])).body.error).toMatchObject({
      code: 'EUSAGE',
      why: 'ao-app downloads only from http(s) URLs',
    });
    expect(
      (await cliJson(['app-manifest', '--version', '0.10.0', '--artifacts', artifacts, '--base-url', 'https://x', '--key', join(artifacts, 'nope.pem')])).body
        .error,
    ).toMatchObject({ code: 'EAPPMANIFEST', fix: expect.stringContaining('openssl genpkey -algorithm ed25519') });
  });

  /** app-manifest on this file's artifacts with one of them rewritten by `write`; its answer, and where it would have written. */
  async function appManifestWith(file: string, write: (path: string) => Promise<unknown>) {
    const root = await mkdtemp(join(tmpdir(), 'ao-app-manifest-one-'));
    const dir = join(root, 'artifacts');
    await exec('cp', ['-r', artifacts, dir]);
    await write(join(dir, file));
    const out = join(root, 'app.json');
    const args = ['app-manifest', '--version', '0.10.0', '--artifacts', dir, '--base-url', 'https://dl.example.com', '--key', key];
    return { out, ...(await cliJson([...args, '--out', out, '--matrix', matrixFile])) };
  }

  it('a tar.gz with "./" entries (tar czf x.tar.gz -C dir .): the release side decides exactly as users\' ao-app does', async () => {
    const tree = join(await mkdtemp(join(tmpdir(), 'ao-dot-entries-')), 'tree');
    await mkdir(join(tree, 'ao-desktop'), { recursive: true });
    await writeFile(join(tree, 'ao-desktop', 'ao-desktop'), '#!/bin/sh\necho app\n', { mode: 0o755 });
    let user = '';
    const release = await appManifestWith(linux.app!.file, async (artifact) => {
      await exec('tar', ['czf', artifact, '-C', tree, '.']);
      expect((await exec('tar', ['tzf', artifact])).stdout.split('\n')[0]).toBe('./');
      user = await userSide(artifact, 'tar.gz');
    });
    const releaseOutcome = release.code === 0 ? 'accepted' : `refused: ${release.body.error.why.replace(/^users' ao-app would refuse it: /, '')}`;
    expect(releaseOutcome).toBe(user);
  });

  it("an archive users would refuse as unsafe is refused before anything is written, naming ao-app's reason", async () => {
    const tree = join(await mkdtemp(join(tmpdir(), 'ao-unsafe-')), 'tree');
    await mkdir(join(tree, 'app'), { recursive: true });
    await writeFile(join(tree, 'app', 'x'), 'x');
    let user = '';
    const release = await appManifestWith(linux.app!.file, async (artifact) => {
      await exec('tar', ['czf', artifact, '-C', tree, '--transform', 's,^app/x,app/../../escaped,', 'app/x']);
      user = await userSide(artifact, 'tar.gz');
    });
    expect(release.code).toBe(1);
    expect(release.body.error).toMatchObject({ code: 'EAPPARTIFACT', what: `refusing the desktop app artifact ${linux.app!.file} (${linux.id})` });
    expect(release.body.error.why).toBe(`users' ao-app would refuse it: ${user.replace(/^refused: /, '')}`);
    await expect(stat(release.out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("a macOS zip with no .app at its top is refused at publish, as users' ao-app refuses it", async () => {
    const mac = matrix.targets.find((t) => t.id === 'darwin-arm64')!;
    // The bundle zipped one folder too deep: users' ao-app would install nothing ao start can open.
    const release = await appManifestWith(mac.app!.file, (artifact) =>
      writeFile(artifact, rawZip([{ name: 'mac-arm64/Agent Orchestrator.app/Contents/Info.plist', data: '<plist/>' }])),
    );
    expect(release.code).toBe(1);
    expect(release.body.error).toMatchObject({ code: 'EAPPARTIFACT', what: `refusing the desktop app artifact ${mac.app!.file} (${mac.id})` });
    expect(release.body.error.why).toMatch(/^users' ao-app would refuse it: .*no \.app bundle at its top/);
    await expect(stat(release.out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
