import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, readlink, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractArtifact } from '../../../common/app-extract.js';
import { buildAppArtifact, hostileArchives, rawTarGz, rawZip } from '../../../rehearsal/app-fixtures.js';
import { tempDir } from './helpers.js';

describe('extracting hostile archives', () => {
  for (const hostile of hostileArchives()) {
    it(`refuses ${hostile.name} and writes nothing`, async () => {
      const outer = await tempDir('hostile');
      const box = join(outer, 'root');
      const archive = join(outer, hostile.format === 'zip' ? 'a.zip' : 'a.tar.gz');
      await writeFile(archive, hostile.bytes);
      const staging = join(box, 'versions', 'staging');
      await expect(extractArtifact(hostile.format, archive, staging, hostile.unpackedSizeLimit, 'a')).rejects.toMatchObject({
        code: 'EUNSAFEARCHIVE',
        ...(hostile.why ? { why: expect.stringMatching(hostile.why) } : {}),
      });
      // Pre-scan refusal: staging stays empty, nothing lands beside or above it.
      if (!hostile.caughtWhileWriting) expect(await readdir(staging)).toEqual([]);
      expect((await readdir(outer)).sort()).toEqual(['a.tar.gz', 'a.zip', 'root'].filter((n) => n === 'root' || n === archive.split('/').pop()));
      expect(existsSync('/tmp/ao-escaped-abs.txt')).toBe(false);
      expect(existsSync(join(dirname(outer), 'escaped.txt'))).toBe(false);
    });
  }
});

/** A tar.gz of `app/sp`, a 2 MiB file of holes around "hi", packed by GNU tar with `--sparse` and `flags`. */
async function sparseTarGz(dir: string, flags: string[]): Promise<string> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'app'), { recursive: true });
  const sparse = join(tree, 'app', 'sp');
  await writeFile(sparse, '');
  await truncate(sparse, 2 << 20);
  const fh = await open(sparse, 'r+');
  await fh.write('hi', 1_000_000);
  await fh.close();
  const archive = join(dir, 'sparse.tar.gz');
  execFileSync('tar', ['--sparse', ...flags, '-czf', archive, '-C', tree, 'app']);
  return archive;
}

describe('tar entries node-tar would skip or misread', () => {
  // node-tar skips GNU sparse entries (type "S") without a word, and unpacks a PAX sparse file (GNU.sparse.* keys,
  // which it does not read) as "GNUSparseFile.<pid>/sp" holding the raw sparse map: either way app/sp is missing.
  for (const [form, flags] of [
    ['GNU (type S)', ['--format=gnu']],
    ['PAX 1.0 (GNU.sparse.* keys)', ['--format=pax', '--sparse-version=1.0']],
  ] as const) {
    it(`refuses a ${form} sparse file, writing nothing`, async () => {
      const dir = await tempDir('sparse');
      const archive = await sparseTarGz(dir, [...flags]);
      const staging = join(dir, 'staging');
      await expect(extractArtifact('tar.gz', archive, staging, 64 << 20, 'x')).rejects.toMatchObject({
        code: 'EUNSAFEARCHIVE',
        why: expect.stringMatching(/sparse files are not supported; the release artifact must be made without --sparse/),
      });
      expect(await readdir(staging)).toEqual([]);
    });
  }

  it('refuses an entry type it does not know (a tape volume header) instead of skipping it', async () => {
    const dir = await tempDir('volume');
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'app'), { recursive: true });
    await writeFile(join(tree, 'app', 'f'), 'x');
    const archive = join(dir, 'volume.tar.gz');
    execFileSync('tar', ['-V', 'LABEL', '-czf', archive, '-C', tree, 'app']);
    await expect(extractArtifact('tar.gz', archive, join(dir, 'staging'), 64 << 20, 'x')).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      why: expect.stringContaining('TapeVolumeHeader'),
    });
  });
});

describe('file modes', () => {
  // Modes an archive may carry and what is installed, the same for a zip and a tar.gz: no setuid, setgid or sticky
  // bit, never writable by the group or others, always readable by the owner (a file we cannot read cannot be
  // verified), no mode at all meaning 0644.
  const modes: Array<[string, number, number]> = [
    ['none', 0, 0o644],
    ['write-only', 0o200, 0o600],
    ['setuid', 0o4755, 0o755],
    ['setgid', 0o2755, 0o755],
    ['sticky', 0o1644, 0o644],
    ['plain', 0o640, 0o640],
    ['writable by anyone', 0o777, 0o755],
    ['writable by the group', 0o664, 0o644],
  ];
  for (const format of ['zip', 'tar.gz'] as const) {
    it(`${format}: files get the archive's permission bits, readable by the owner, never setuid, setgid, sticky or writable by others`, async () => {
      const dir = await tempDir('modes');
      const archive = join(dir, `a.${format}`);
      await writeFile(
        archive,
        format === 'zip'
          ? rawZip(modes.map(([name, mode]) => ({ name: `app/${name}`, data: name, mode: 0o100000 | mode })))
          : rawTarGz(modes.map(([name, mode]) => ({ path: `app/${name}`, data: name, mode }))),
      );
      const staging = join(dir, 'staging');
      await extractArtifact(format, archive, staging, 1 << 20, 'x');
      for (const [name, , installed] of modes) expect((await stat(join(staging, 'app', name))).mode & 0o7777, name).toBe(installed);
    });
  }

  it('tar.gz: folders are always rwx for the owner and never writable by others, whatever mode the archive gives them', async () => {
    const dir = await tempDir('dir-modes');
    const archive = join(dir, 'a.tar.gz');
    await writeFile(
      archive,
      rawTarGz([
        { path: 'app/', type: 'Directory', mode: 0 },
        { path: 'app/ro/', type: 'Directory', mode: 0o555 },
        { path: 'app/ro/f', data: 'x' },
        { path: 'app/sticky/', type: 'Directory', mode: 0o1777 },
      ]),
    );
    const staging = join(dir, 'staging');
    await extractArtifact('tar.gz', archive, staging, 1 << 20, 'x');
    expect((await stat(join(staging, 'app'))).mode & 0o7777).toBe(0o700);
    expect((await stat(join(staging, 'app/ro'))).mode & 0o7777).toBe(0o755);
    // A 1777 folder inside the app (as /tmp is) had stayed 0777: anyone could add files the app would load.
    expect((await stat(join(staging, 'app/sticky'))).mode & 0o7777).toBe(0o755);
  });
});

describe('a verified artifact this disk cannot read', () => {
  // A folder where the file should be: reading it fails with EISDIR, a real file-system error, as EIO would.
  for (const format of ['zip', 'tar.gz'] as const) {
    it(`${format}: is a file-system error (EAPPDISK), never an unsafe archive, so the download is not deleted for it`, async () => {
      const dir = await tempDir('unreadable');
      const archive = join(dir, `a.${format}`);
      await mkdir(archive);
      await expect(extractArtifact(format, archive, join(dir, 'staging'), 1 << 20, 'a')).rejects.toMatchObject({
        code: 'EAPPDISK',
        why: expect.stringContaining('EISDIR'),
      });
    });
  }
});

describe('extracting real app layouts', () => {
  it('keeps the macOS bundle symlinks and executable bits from a zip -y archive', async () => {
    const dir = await tempDir('mac');
    const built = await buildAppArtifact('darwin', join(dir, 'ao-desktop-darwin-arm64.zip'), 256 << 10);
    const staging = join(dir, 'staging');
    await extractArtifact('zip', built.file, staging, 64 << 20, 'x');
    const fw = join(staging, 'Agent Orchestrator.app/Contents/Frameworks/X.framework');
    expect(await readlink(join(fw, 'Versions/Current'))).toBe('A');
    expect(await readlink(join(fw, 'X'))).toBe('Versions/Current/X');
    expect(await readlink(join(fw, 'Resources'))).toBe('Versions/Current/Resources');
    expect((await stat(join(fw, 'X'))).mode & 0o111).not.toBe(0);
    expect((await stat(join(staging, 'Agent Orchestrator.app/Contents/MacOS/ao'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(staging, 'Agent Orchestrator.app/Contents/Info.plist'))).mode & 0o111).toBe(0);
    expect((await stat(join(staging, 'Agent Orchestrator.app/Contents/Resources/app.bin'))).size).toBe(256 << 10);
    // Info.plist is deflated, app.bin stored: both come out byte for byte.
    for (const file of ['Agent Orchestrator.app/Contents/Info.plist', 'Agent Orchestrator.app/Contents/Resources/app.bin']) {
      expect((await readFile(join(staging, file))).equals(await readFile(join(built.tree!, file)))).toBe(true);
    }
  });

  it('unpacks a zip made on Windows whose folder entries carry the DOS folder attribute and no trailing slash', async () => {
    const dir = await tempDir('dos-folders');
    const zip = join(dir, 'app.zip');
    await writeFile(
      zip,
      rawZip([
        { name: 'Ao', dosAttributes: 0x10 },
        { name: 'Ao/Ao.exe', data: 'MZ', dosAttributes: 0x20 },
        { name: 'Ao/resources', dosAttributes: 0x10 },
        { name: 'Ao/resources/app.asar', data: 'asar', dosAttributes: 0x20 },
        // .NET Framework's ZipFile (PowerShell 5's Compress-Archive) writes backslashes, a folder's name ending in one.
        { name: 'Ao\\locales\\', dosAttributes: 0 },
        { name: 'Ao\\locales\\en-US.pak', data: 'pak', dosAttributes: 0 },
      ]),
    );
    const staging = join(dir, 'staging');
    const plan = await extractArtifact('zip', zip, staging, 1 << 20, 'x');
    expect(plan.map((e) => [e.path, e.type])).toEqual([
      ['Ao', 'dir'],
      ['Ao/Ao.exe', 'file'],
      ['Ao/resources', 'dir'],
      ['Ao/resources/app.asar', 'file'],
      ['Ao/locales', 'dir'],
      ['Ao/locales/en-US.pak', 'file'],
    ]);
    expect(await readFile(join(staging, 'Ao/resources/app.asar'), 'utf8')).toBe('asar');
  });

  it('refuses a zip that does not parse (random bytes, a tar.gz, a truncated zip) as unsafe, never as an internal error', async () => {
    const dir = await tempDir('not-zip');
    const zip = join(dir, 'app.zip');
    const whole = rawZip([{ name: 'Ao/Ao.exe', data: 'MZ' }]);
    for (const bytes of [randomBytes(5000), rawTarGz([{ path: 'ao/x', data: 'x' }]), whole.subarray(0, whole.length - 10)]) {
      await writeFile(zip, bytes);
      // node-stream-zip's "Bad archive" went out as it was: exit 70, and the download was kept for the next run to fail alike.
      await expect(extractArtifact('zip', zip, join(dir, 'staging'), 1 << 20, 'x')).rejects.toMatchObject({
        code: 'EUNSAFEARCHIVE',
        why: expect.stringMatching(/not a sound zip/),
      });
    }
    // A symlink whose target does not inflate.
    await writeFile(zip, rawZip([{ name: 'Ao/link', mode: 0o120777, data: 'not deflate', method: 8 }]));
    await expect(extractArtifact('zip', zip, join(dir, 'staging'), 1 << 20, 'x')).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      why: expect.stringMatching(/entry "Ao\/link" is corrupt/),
    });
  });

  it('refuses a zip entry whose bytes do not match its CRC-32', async () => {
    const dir = await tempDir('crc');
    const built = await buildAppArtifact('darwin', join(dir, 'ao-desktop-darwin-arm64.zip'), 256 << 10);
    const bytes = await readFile(built.file);
    bytes[bytes.length >> 1]! ^= 0xff; // inside the stored app.bin
    await writeFile(built.file, bytes);
    await expect(extractArtifact('zip', built.file, join(dir, 'staging'), 64 << 20, 'x')).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      message: expect.stringContaining('CRC-32'),
    });
  });

  it('unpacks the Linux tar.gz with its library symlink', async () => {
    const dir = await tempDir('linux');
    const built = await buildAppArtifact('linux', join(dir, 'ao-desktop-linux-x64.tar.gz'), 128 << 10);
    const staging = join(dir, 'staging');
    await extractArtifact('tar.gz', built.file, staging, 64 << 20, 'x');
    expect((await lstat(join(staging, 'ao-desktop/lib/libao.so.1'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(staging, 'ao-desktop/lib/libao.so.1'), 'utf8')).toContain('library');
    expect((await stat(join(staging, 'ao-desktop/ao-desktop'))).mode & 0o111).not.toBe(0);
  });

  it.runIf(process.platform === 'linux')('unpacks a GNU tar whose tree hard-links a symlink (cp -al, rsync --link-dest) as that symlink', async () => {
    const dir = await tempDir('hardlinked-symlink');
    const app = join(dir, 'tree', 'ao-desktop');
    await mkdir(join(app, 'lib'), { recursive: true });
    await writeFile(join(app, 'lib', 'libao.so.1'), 'ELF');
    await symlink('libao.so.1', join(app, 'lib', 'libao.so'));
    // link(2) on a symlink links the symlink itself (ln -P): GNU tar then writes the second name as a hard link to it.
    execFileSync('ln', ['-P', join(app, 'lib', 'libao.so'), join(app, 'lib', 'libao-current.so')]);
    const archive = join(dir, 'app.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', join(dir, 'tree'), 'ao-desktop']);
    const staging = join(dir, 'staging');
    // It had been refused as unsafe, "points outside the app's files", so the release could not ship it.
    await extractArtifact('tar.gz', archive, staging, 1 << 20, 'app.tar.gz');
    for (const name of ['libao.so', 'libao-current.so']) {
      expect(await readlink(join(staging, 'ao-desktop', 'lib', name))).toBe('libao.so.1');
      expect(await readFile(join(staging, 'ao-desktop', 'lib', name), 'utf8')).toBe('ELF');
    }
  });

  it('drops the AppleDouble ._<name> entries macOS tar writes beside each file with extended attributes, as it unpacks them', async () => {
    const dir = await tempDir('appledouble-tar');
    const contents = join(dir, 'tree', 'Agent Orchestrator.app', 'Contents');
    await mkdir(contents, { recursive: true });
    await writeFile(join(contents, 'Info.plist'), '<plist/>');
    // What bsdtar on macOS (without COPYFILE_DISABLE=1) stores for a file's and a folder's xattrs: a ._<name> sibling.
    await writeFile(join(contents, '._Info.plist'), 'com.apple.quarantine');
    await writeFile(join(dir, 'tree', '._Agent Orchestrator.app'), 'com.apple.FinderInfo');
    const archive = join(dir, 'app.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', join(dir, 'tree'), '._Agent Orchestrator.app', 'Agent Orchestrator.app']);
    const staging = join(dir, 'staging');
    const entries = await extractArtifact('tar.gz', archive, staging, 1 << 20, 'app.tar.gz');
    // Unpacked as files inside the signed .app, they broke its seal (a zip's were already dropped, as ditto does).
    expect(entries.map((e) => e.path).sort()).toEqual([
      'Agent Orchestrator.app',
      'Agent Orchestrator.app/Contents',
      'Agent Orchestrator.app/Contents/Info.plist',
    ]);
    expect(await readdir(staging)).toEqual(['Agent Orchestrator.app']);
    expect(await readdir(join(staging, 'Agent Orchestrator.app', 'Contents'))).toEqual(['Info.plist']);
  });

  it('the AppleDouble entries it drops count nowhere: a cap the kept files fit unpacks, and one they overrun is refused, not a hang', async () => {
    const dir = await tempDir('appledouble-cap');
    await mkdir(join(dir, 'tree', 'app'), { recursive: true });
    await writeFile(join(dir, 'tree', 'app', 'main'), randomBytes(10_000));
    await writeFile(join(dir, 'tree', 'app', '._main'), randomBytes(5_000));
    const archive = join(dir, 'app.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', join(dir, 'tree'), 'app']);
    // The release sizes the cap from the kept files (10,000 B plus its margin): users' ao-app must fit under it.
    const entries = await extractArtifact('tar.gz', archive, join(dir, 'fits'), 12_000, 'app.tar.gz');
    expect(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.size])).toEqual([['app/main', 10_000]]);
    await expect(extractArtifact('tar.gz', archive, join(dir, 'over'), 9_000, 'app.tar.gz')).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      why: 'it unpacks to more than 9000 bytes, the cap the manifest allows',
    });
  });

  it('installs an AppImage as one executable file', async () => {
    const dir = await tempDir('appimage');
    const built = await buildAppArtifact('appimage', join(dir, 'ao-desktop-linux-x64.AppImage'), 64 << 10);
    const staging = join(dir, 'staging');
    await extractArtifact('AppImage', built.file, staging, 64 << 20, 'ao-desktop-linux-x64.AppImage');
    expect((await stat(join(staging, 'ao-desktop-linux-x64.AppImage'))).mode & 0o777).toBe(0o755);
  });

  it('refuses an app whose real contents exceed the cap', async () => {
    const dir = await tempDir('cap');
    const built = await buildAppArtifact('win32', join(dir, 'ao-desktop-win32-x64.zip'), 2 << 20);
    await expect(extractArtifact('zip', built.file, join(dir, 'staging'), 1 << 20, 'x')).rejects.toMatchObject({ code: 'EUNSAFEARCHIVE' });
  });

  /** A zip with both kinds of entry: 300 small ones (written synchronously) and two large ones (streamed meanwhile). */
  async function mixedZip(dir: string): Promise<{ zip: string; tree: string; stored: Buffer }> {
    const tree = join(dir, 'tree');
    const app = join(tree, 'App.app', 'Contents');
    for (let i = 0; i < 300; i++) {
      await mkdir(join(app, 'Resources', `pkg-${i % 17}`), { recursive: true });
      await writeFile(join(app, 'Resources', `pkg-${i % 17}`, `file-${i}.js`), randomBytes(1500 + i * 7).toString('base64'), { mode: i % 5 ? 0o644 : 0o755 });
    }
    await mkdir(join(app, 'Frameworks', 'A'), { recursive: true });
    await writeFile(join(app, 'Frameworks', 'A', 'Framework'), randomBytes(1 << 20).toString('hex'), { mode: 0o755 });
    const stored = randomBytes(3 << 20);
    await writeFile(join(app, 'Resources', 'app.bin'), stored);
    await symlink('A/Framework', join(app, 'Frameworks', 'Framework'));
    const zip = join(dir, 'mixed.zip');
    execFileSync('zip', ['-q', '-y', '-r', '-n', '.bin', zip, 'App.app'], { cwd: tree });
    return { zip, tree, stored };
  }

  it('unpacks small and large zip entries at once, byte for byte and mode for mode as unzip does', async () => {
    const dir = await tempDir('mixed');
    const { zip } = await mixedZip(dir);
    const staging = join(dir, 'staging');
    const entries = await extractArtifact('zip', zip, staging, 64 << 20, 'x');
    const reference = join(dir, 'unzipped');
    execFileSync('unzip', ['-q', zip, '-d', reference]);
    const files = entries.filter((e) => e.type === 'file');
    expect(files).toHaveLength(302);
    for (const e of files) {
      const [ours, theirs] = [await readFile(join(staging, e.path)), await readFile(join(reference, e.path))];
      expect(ours.equals(theirs), e.path).toBe(true);
      expect((await stat(join(staging, e.path))).mode & 0o777, e.path).toBe((await stat(join(reference, e.path))).mode & 0o777);
      expect(e.integrity, e.path).toBe(`sha256-${createHash('sha256').update(theirs).digest('base64')}`);
    }
    expect(await readlink(join(staging, 'App.app/Contents/Frameworks/Framework'))).toBe('A/Framework');
  });

  it('refuses a zip whose large entry is corrupt while its small entries are written beside it, naming that entry', async () => {
    const dir = await tempDir('mixed-bad');
    const { zip, stored } = await mixedZip(dir);
    const bytes = await readFile(zip);
    const at = bytes.indexOf(stored.subarray(2 << 20, (2 << 20) + 64));
    expect(at).toBeGreaterThan(0);
    bytes[at]! ^= 0xff;
    await writeFile(zip, bytes);
    const staging = join(dir, 'staging');
    await expect(extractArtifact('zip', zip, staging, 64 << 20, 'x')).rejects.toMatchObject({
      code: 'EUNSAFEARCHIVE',
      message: expect.stringContaining('App.app/Contents/Resources/app.bin'),
    });
  });
});
