import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractArtifact } from '../../../common/app-extract.js';
import { buildAppArtifact, hostileArchives } from '../../../rehearsal/app-fixtures.js';
import { tempDir } from './helpers.js';

describe('extracting hostile archives', () => {
  for (const hostile of hostileArchives()) {
    it(`refuses ${hostile.name} and writes nothing`, async () => {
      const outer = await tempDir('hostile');
      const box = join(outer, 'root');
      const archive = join(outer, hostile.format === 'zip' ? 'a.zip' : 'a.tar.gz');
      await writeFile(archive, hostile.bytes);
      const staging = join(box, 'versions', 'staging');
      await expect(extractArtifact(hostile.format, archive, staging, hostile.unpackedSizeLimit, 'a')).rejects.toMatchObject({ code: 'EUNSAFEARCHIVE' });
      // Pre-scan refusal: staging stays empty, nothing lands beside or above it.
      if (!hostile.caughtWhileWriting) expect(await readdir(staging)).toEqual([]);
      expect((await readdir(outer)).sort()).toEqual(['a.tar.gz', 'a.zip', 'root'].filter((n) => n === 'root' || n === archive.split('/').pop()));
      expect(existsSync('/tmp/ao-escaped-abs.txt')).toBe(false);
      expect(existsSync(join(dirname(outer), 'escaped.txt'))).toBe(false);
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
});
