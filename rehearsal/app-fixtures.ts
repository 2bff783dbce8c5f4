import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { crc32, gzipSync } from 'node:zlib';
import * as tar from 'tar';
import type { AppManifest, AppTarget } from '../common/app-manifest.js';
import { digestFile } from '../common/integrity.js';
import type { FaultServer } from './fault-server.js';

/**
 * Generated desktop-app artifacts for tests and the bench: app trees shaped
 * like the real ones (a macOS .app with framework symlinks, a Linux tree, an
 * AppImage, a Windows tree), padded with incompressible bytes to any size, and
 * hostile archives the extractor must refuse. Nothing here is committed; no
 * vitest import (the rehearsal reuses it from dist/).
 */
const run = promisify(execFile);

export type AppKind = 'darwin' | 'linux' | 'appimage' | 'win32' | 'exe';

/** The bundle the real macOS release zips (electron-forge's name). */
export const MAC_BUNDLE = 'Agent Orchestrator.app';

/** Writes `bytes` of random-looking data fast: one random block repeated (deflate's 32 KiB window cannot see the repeats). */
export async function writePadding(path: string, bytes: number, flags = 'w'): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const block = randomBytes(Math.min(4 << 20, Math.max(bytes, 1)));
  const out = createWriteStream(path, { flags });
  let left = bytes;
  while (left > 0) {
    const chunk = block.subarray(0, Math.min(left, block.length));
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

const LAUNCHER = '#!/bin/sh\necho "ao desktop running"\n';

/** The tree an app artifact unpacks to, written under `dir`; returns the top-level entry names. */
export async function writeAppTree(dir: string, kind: Exclude<AppKind, 'appimage' | 'exe'>, paddingBytes: number): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  if (kind === 'darwin') {
    const contents = join(dir, MAC_BUNDLE, 'Contents');
    await mkdir(join(contents, 'MacOS'), { recursive: true });
    await writeFile(
      join(contents, 'Info.plist'),
      '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>CFBundleExecutable</key><string>ao</string></dict></plist>\n',
    );
    await writeFile(join(contents, 'MacOS', 'ao'), LAUNCHER, { mode: 0o755 });
    const fw = join(contents, 'Frameworks', 'X.framework');
    await mkdir(join(fw, 'Versions', 'A', 'Resources'), { recursive: true });
    await writeFile(join(fw, 'Versions', 'A', 'X'), LAUNCHER, { mode: 0o755 });
    await writeFile(join(fw, 'Versions', 'A', 'Resources', 'Info.plist'), '<plist version="1.0"><dict/></plist>\n');
    await symlink('A', join(fw, 'Versions', 'Current'));
    await symlink('Versions/Current/X', join(fw, 'X'));
    await symlink('Versions/Current/Resources', join(fw, 'Resources'));
    await writePadding(join(contents, 'Resources', 'app.bin'), paddingBytes);
    // The code signature: its files must come out byte-identical or the bundle no longer verifies.
    await mkdir(join(contents, '_CodeSignature'), { recursive: true });
    await writeFile(
      join(contents, '_CodeSignature', 'CodeResources'),
      `<?xml version="1.0"?>\n<plist version="1.0"><dict><key>files</key><data>${randomBytes(48).toString('base64')}</data></dict></plist>\n`,
    );
    await writeFile(join(fw, 'Versions', 'A', 'Resources', 'helper'), LAUNCHER, { mode: 0o750 });
    return [MAC_BUNDLE];
  }
  if (kind === 'linux') {
    const root = join(dir, 'ao-desktop');
    await mkdir(join(root, 'lib'), { recursive: true });
    await writeFile(join(root, 'ao-desktop'), LAUNCHER, { mode: 0o755 });
    await writeFile(join(root, 'lib', 'libao.so.1.0'), 'not really a library\n');
    await symlink('libao.so.1.0', join(root, 'lib', 'libao.so.1'));
    await writePadding(join(root, 'resources', 'app.bin'), paddingBytes);
    return ['ao-desktop'];
  }
  const root = join(dir, 'Ao');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'Ao.exe'), 'MZ not really a PE\n');
  await writePadding(join(root, 'resources', 'app.bin'), paddingBytes);
  return ['Ao'];
}

/** Bytes that deflate about 2:1, like machine code: random runs interleaved with zeros. Fast to make. */
function semiCompressible(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  const noise = randomBytes(Math.min(bytes, 1 << 20));
  for (let at = 0; at < bytes; at += 128) noise.copy(out, at, at % noise.length, Math.min((at % noise.length) + 64, noise.length));
  return out;
}

/**
 * An Electron-like macOS app, as the real release zips it: `Agent Orchestrator.app` with
 * ~3,000 entries (locales, helper apps, an unpacked node_modules), an incompressible
 * ~100 MB `app.asar`, an Electron Framework with the usual version symlinks. `totalBytes`
 * is the unpacked size (254 MB for the bench).
 */
export async function writeElectronLikeTree(dir: string, totalBytes: number): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  const contents = join(dir, MAC_BUNDLE, 'Contents');
  const put = async (rel: string, data: Buffer | string, mode = 0o644) => {
    await mkdir(dirname(join(contents, rel)), { recursive: true });
    await writeFile(join(contents, rel), data, { mode });
  };
  await put(
    'Info.plist',
    '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>CFBundleExecutable</key><string>Agent Orchestrator</string></dict></plist>\n',
  );
  await put('MacOS/Agent Orchestrator', semiCompressible(200 << 10), 0o755);
  await put('_CodeSignature/CodeResources', `<plist version="1.0"><dict><key>files</key><data>${randomBytes(2048).toString('base64')}</data></dict></plist>\n`);
  const asar = Math.round(totalBytes * 0.4);
  await writePadding(join(contents, 'Resources', 'app.asar'), asar);
  const fw = join('Frameworks', 'Electron Framework.framework');
  let left = totalBytes - asar - (200 << 10);
  const small = async (rel: string, size: number, mode = 0o644) => {
    await put(rel, semiCompressible(size), mode);
    left -= size;
  };
  for (const helper of ['', ' (GPU)', ' (Plugin)', ' (Renderer)']) {
    const app = join('Frameworks', `Agent Orchestrator Helper${helper}.app`, 'Contents');
    await small(join(app, 'MacOS', `Agent Orchestrator Helper${helper}`), 120 << 10, 0o755);
    await small(join(app, 'Info.plist'), 1 << 10);
  }
  for (let i = 0; i < 60; i++) await small(join(fw, 'Versions', 'A', 'Resources', `locale-${i}.lproj`, 'locale.pak'), 90 << 10);
  for (let i = 0; i < 2900; i++)
    await small(join('Resources', 'app.asar.unpacked', 'node_modules', `pkg-${i % 97}`, `file-${i}.js`), (4 << 10) | ((i % 7) << 10));
  for (const lib of ['libEGL.dylib', 'libGLESv2.dylib', 'libffmpeg.dylib', 'libvk_swiftshader.dylib'])
    await small(join(fw, 'Versions', 'A', 'Libraries', lib), 3 << 20, 0o755);
  // The framework binary takes what is left of the total.
  await put(join(fw, 'Versions', 'A', 'Electron Framework'), semiCompressible(Math.max(1 << 20, left)), 0o755);
  await symlink('A', join(contents, fw, 'Versions', 'Current'));
  await symlink('Versions/Current/Electron Framework', join(contents, fw, 'Electron Framework'));
  await symlink('Versions/Current/Resources', join(contents, fw, 'Resources'));
  await symlink('Versions/Current/Libraries', join(contents, fw, 'Libraries'));
  return [MAC_BUNDLE];
}

/** The realistic app zipped as a release would: every entry deflated, symlinks stored (`zip -y`). */
export async function buildElectronLikeZip(outFile: string, totalBytes: number): Promise<string> {
  const tree = `${outFile}.tree`;
  await mkdir(dirname(outFile), { recursive: true });
  await rm(outFile, { force: true });
  const tops = await writeElectronLikeTree(tree, totalBytes);
  await run('zip', ['-q', '-y', '-r', outFile, ...tops], { cwd: tree, maxBuffer: 1 << 20 });
  await rm(tree, { recursive: true, force: true });
  return outFile;
}

export interface BuiltApp {
  file: string;
  format: 'zip' | 'tar.gz' | 'AppImage' | 'exe';
  /** Where the unpacked tree was generated (absent for AppImage). */
  tree?: string;
}

/**
 * Builds an artifact the way the app build would: `zip -y -r` (stores symlinks
 * and Unix modes; .bin padding stored, not deflated, to stay fast), a tar.gz,
 * or a single executable AppImage.
 */
export async function buildAppArtifact(kind: AppKind, outFile: string, paddingBytes: number): Promise<BuiltApp> {
  await mkdir(dirname(outFile), { recursive: true });
  await rm(outFile, { force: true });
  if (kind === 'exe') {
    await writeFile(outFile, 'MZ not really an NSIS installer\n');
    await writePadding(outFile, paddingBytes, 'a');
    return { file: outFile, format: 'exe' };
  }
  if (kind === 'appimage') {
    await writeFile(outFile, `${LAUNCHER}exit 0\n`, { mode: 0o755 });
    await writePadding(outFile, paddingBytes, 'a');
    await chmod(outFile, 0o755);
    return { file: outFile, format: 'AppImage' };
  }
  const tree = `${outFile}.tree`;
  const tops = await writeAppTree(tree, kind, paddingBytes);
  if (kind === 'linux') {
    await tar.c({ gzip: { level: 1 }, file: outFile, cwd: tree, portable: true }, tops);
    return { file: outFile, format: 'tar.gz', tree };
  }
  await run('zip', ['-q', '-y', '-r', '-n', '.bin', outFile, ...tops], { cwd: tree, maxBuffer: 1 << 20 });
  return { file: outFile, format: 'zip', tree };
}

// ---- hostile archives -------------------------------------------------------

type TarType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
export interface RawTarEntry {
  path: string;
  type?: TarType;
  data?: Buffer | string;
  linkpath?: string;
  mode?: number;
  /** Declared size when it should differ from the data (a lying header). */
  size?: number;
}

/** A tar.gz written header by header, so it can hold what no honest packer writes. */
export function rawTarGz(entries: RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'File';
    const header = new tar.Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      size: type === 'File' ? (e.size ?? data.length) : 0,
      linkpath: e.linkpath,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    header.encode();
    blocks.push(header.block!);
    if (type === 'File' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

export interface RawZipEntry {
  name: string;
  data?: Buffer | string;
  /** Full Unix mode including the file type bits (0o100644, 0o120777 for a symlink, 0o40755 for a dir). */
  mode?: number;
  /** Declared uncompressed size when it should differ from the data. */
  size?: number;
  /** Declared compression method (the data is stored whatever it says); 0 unless set. */
  method?: number;
  /** Sets the general-purpose flag that says the entry is encrypted. */
  encrypted?: boolean;
  /** Made by MS-DOS/Windows: these DOS attributes (0x10 a folder, 0x20 archive) and no Unix mode. */
  dosAttributes?: number;
}

/** A zip written entry by entry (stored, Unix "made by", modes in external attributes). */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data ?? '');
    const crc = crc32(data);
    const size = e.size ?? data.length;
    const flags = 0x0800 | (e.encrypted ? 0x0001 : 0); // UTF-8 names
    const method = e.method ?? 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(((e.dosAttributes === undefined ? 3 : 0) << 8) | 20, 4); // made by Unix, or by MS-DOS
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(e.dosAttributes ?? ((e.mode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface HostileArchive {
  name: string;
  format: 'zip' | 'tar.gz';
  bytes: Buffer;
  /** The unpacked cap to describe it with (small for the bombs). */
  unpackedSizeLimit: number;
  /** Only the data gives it away (lying sizes): refused while writing, inside staging. */
  caughtWhileWriting?: boolean;
  /** What the refusal must say, when one message is the right one. */
  why?: RegExp;
}

const CAP = 1 << 20;
const SYMLINK = 0o120777;

/** Every kind of archive the extractor must refuse before writing outside staging. */
export function hostileArchives(): HostileArchive[] {
  const zeros = Buffer.alloc(8 << 20);
  const t = (name: string, entries: RawTarEntry[], cap = CAP): HostileArchive => ({
    name: `tar: ${name}`,
    format: 'tar.gz',
    bytes: rawTarGz(entries),
    unpackedSizeLimit: cap,
  });
  const z = (name: string, entries: RawZipEntry[], cap = CAP): HostileArchive => ({
    name: `zip: ${name}`,
    format: 'zip',
    bytes: rawZip(entries),
    unpackedSizeLimit: cap,
  });
  return [
    t('parent traversal', [
      { path: 'app/ok.txt', data: 'ok' },
      { path: 'app/../../escaped.txt', data: 'pwned' },
    ]),
    t('absolute path', [{ path: '/tmp/ao-escaped-abs.txt', data: 'pwned' }]),
    t('drive letter', [{ path: 'C:/Windows/escaped.txt', data: 'pwned' }]),
    t('symlink pointing outside', [{ path: 'app/out', type: 'SymbolicLink', linkpath: '../../..' }]),
    t('absolute symlink', [{ path: 'app/etc', type: 'SymbolicLink', linkpath: '/etc' }]),
    t('hardlink pointing outside', [{ path: 'app/passwd', type: 'Link', linkpath: '../../../../etc/passwd' }]),
    {
      ...t('write through a symlink', [
        { path: 'app/dir', type: 'SymbolicLink', linkpath: '.' },
        { path: 'app/dir/file.txt', data: 'through' },
      ]),
      why: /"app\/dir\/file\.txt" would be written through the symlink "app\/dir"/,
    },
    {
      ...t('symlink over a folder it writes into', [
        { path: 'app/dir/file.txt', data: 'inside' },
        { path: 'app/dir', type: 'SymbolicLink', linkpath: '.' },
      ]),
      why: /symlink "app\/dir" would replace a folder the archive writes into/,
    },
    {
      ...t('hardlink before its target', [
        { path: 'app/b', type: 'Link', linkpath: 'app/a' },
        { path: 'app/a', data: 'A' },
      ]),
      why: /hardlink "app\/b" comes before its target "app\/a"/,
    },
    {
      ...t('names that differ only in Unicode normalisation', [
        { path: 'app/caf\u00e9', data: 'nfc' },
        { path: 'app/cafe\u0301', data: 'nfd' },
      ]),
      why: /"app\/caf\\u00e9" and "app\/cafe\\u0301" differ only in case or Unicode normalisation/,
    },
    t('character device', [{ path: 'app/null', type: 'CharacterDevice' }]),
    t('block device', [{ path: 'app/disk', type: 'BlockDevice' }]),
    t('FIFO', [{ path: 'app/pipe', type: 'FIFO' }]),
    t('duplicate names', [
      { path: 'app/a.txt', data: 'one' },
      { path: 'app/a.txt', data: 'two' },
    ]),
    t('case-colliding names', [
      { path: 'app/Readme', data: 'one' },
      { path: 'app/README', data: 'two' },
    ]),
    t('decompression bomb', [{ path: 'app/zeros.bin', data: zeros }]),
    t('contents over the cap', [
      { path: 'app/a.bin', data: randomBytes(700 << 10) },
      { path: 'app/b.bin', data: randomBytes(700 << 10) },
    ]),
    z('parent traversal', [{ name: 'app/../../escaped.txt', data: 'pwned' }]),
    z('absolute path', [{ name: '/tmp/ao-escaped-abs.txt', data: 'pwned' }]),
    z('drive letter', [{ name: 'C:\\Windows\\escaped.txt', data: 'pwned' }]),
    z('backslash traversal', [{ name: 'app\\..\\..\\escaped.txt', data: 'pwned' }]),
    z('symlink pointing outside', [{ name: 'app/out', data: '../../..', mode: SYMLINK }]),
    {
      ...z('write through a symlink', [
        { name: 'app/dir', data: '.', mode: SYMLINK },
        { name: 'app/dir/file.txt', data: 'through' },
      ]),
      why: /"app\/dir\/file\.txt" would be written through the symlink "app\/dir"/,
    },
    {
      ...z('symlink whose target holds a NUL byte', [
        { name: 'app/f', data: 'x' },
        { name: 'app/l', data: 'f\0x', mode: SYMLINK },
      ]),
      why: /symlink "app\/l" has a NUL byte in its target/,
    },
    {
      ...z('symlink with an empty target', [
        { name: 'app/f', data: 'x' },
        { name: 'app/l', data: '', mode: SYMLINK },
      ]),
      why: /symlink "app\/l" has an empty target/,
    },
    {
      ...z('names that differ only in Unicode normalisation', [
        { name: 'app/caf\u00e9', data: 'nfc' },
        { name: 'app/cafe\u0301', data: 'nfd' },
      ]),
      why: /"app\/caf\\u00e9" and "app\/cafe\\u0301" differ only in case or Unicode normalisation/,
    },
    {
      // Not unsafe as such, but ao-app writes its completion marker there last: the archive's would be replaced, and
      // every later verify would call the app damaged, every install download it again.
      ...z('an entry named like the completion marker ao-app writes last', [
        { name: 'app/run', data: 'x' },
        { name: '.ao-app-complete.json', data: '{}' },
      ]),
      why: /entry "\.ao-app-complete\.json" has the name of the completion marker ao-app writes/,
    },
    {
      // The same name on a case-insensitive disk (macOS, Windows).
      ...t('an entry named like the completion marker in another case', [{ path: '.AO-App-Complete.json', data: '{}' }]),
      why: /entry "\.AO-App-Complete\.json" has the name of the completion marker ao-app writes/,
    },
    {
      // The same name on Windows, which drops a name's trailing dots and spaces.
      ...z('an entry named like the completion marker with a trailing dot and space', [
        { name: 'app/run', data: 'x' },
        { name: '.ao-app-complete.json. ', data: '{}' },
      ]),
      why: /entry "\.ao-app-complete\.json\. " has the name of the completion marker ao-app writes/,
    },
    // A packaging step that found nothing to pack (or a zip comment holding an end record, which unzip reads too):
    // installed, it left a version folder with no app in it, exit 0.
    { ...z('no file at all (an empty zip)', []), why: /it holds no file/ },
    {
      ...t('no file at all (only the folders of `tar czf x.tar.gz -C empty .`)', [
        { path: './', type: 'Directory' },
        { path: 'app/', type: 'Directory' },
      ]),
      why: /it holds no file/,
    },
    z('FIFO mode', [{ name: 'app/pipe', data: '', mode: 0o10644 }]),
    z('duplicate names', [
      { name: 'app/a.txt', data: 'one' },
      { name: 'app/a.txt', data: 'two' },
    ]),
    z('case-colliding names', [
      { name: 'app/Readme', data: 'one' },
      { name: 'app/README', data: 'two' },
    ]),
    z('decompression bomb', [{ name: 'app/zeros.bin', data: zeros }]),
    z('an encrypted entry', [
      { name: 'app/ok.txt', data: 'ok' },
      { name: 'app/secret.bin', data: randomBytes(64), encrypted: true },
    ]),
    z('an unknown compression method (bzip2)', [
      { name: 'app/ok.txt', data: 'ok' },
      { name: 'app/packed.bin', data: randomBytes(64), method: 12 },
    ]),
    {
      ...z('declared sizes that lie', [
        { name: 'app/a.bin', data: randomBytes(700 << 10), size: 10 },
        { name: 'app/b.bin', data: randomBytes(700 << 10), size: 10 },
      ]),
      caughtWhileWriting: true,
    },
  ];
}

/** Builds every target's app artifact under `dir` with the file names from matrix.json (for the rehearsal and round-trip tests). */
export async function buildReleaseApps(
  targets: Array<{ os: string; app?: { file: string; format: 'zip' | 'tar.gz' | 'AppImage' | 'exe' } | null }>,
  dir: string,
  paddingBytes: number,
): Promise<void> {
  for (const t of targets) {
    if (!t.app) continue;
    const kind: AppKind =
      t.app.format === 'AppImage' ? 'appimage' : t.app.format === 'exe' ? 'exe' : t.os === 'linux' ? 'linux' : t.os === 'win32' ? 'win32' : 'darwin';
    const built = await buildAppArtifact(kind, join(dir, t.app.file), paddingBytes);
    if (built.tree) await rm(built.tree, { recursive: true, force: true });
  }
}

/** A manifest whose `targets` is known to hold `T`. */
export type ManifestWith<T extends string> = AppManifest & { targets: Record<T, AppTarget> };

/**
 * A one-target manifest for an artifact the fault server serves (at `/<file>`, or `served.path`), pinned to
 * its size and sha512; `extra` overrides the target's fields (64 MiB unpacked cap by default).
 */
export async function manifestFor<T extends string = 'linux-x64'>(
  server: FaultServer,
  artifact: string,
  format: 'zip' | 'tar.gz' | 'AppImage' | 'exe',
  target = 'linux-x64' as T,
  extra: Partial<AppTarget> = {},
  served: { path?: string; version?: string } = {},
): Promise<ManifestWith<T>> {
  const file = basename(artifact);
  const path = served.path ?? `/${file}`;
  await server.serve(path, artifact);
  const { integrity, size } = await digestFile(artifact);
  return {
    schema: 1,
    version: served.version ?? '0.10.0',
    targets: { [target]: { file, format, urls: [`${server.url}${path}`], size, integrity, unpackedSizeLimit: 64 << 20, ...extra } } as Record<T, AppTarget>,
  };
}
