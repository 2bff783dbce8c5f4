import { createReadStream, createWriteStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { chmod, copyFile, mkdir, open, stat, symlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32, createInflateRaw, inflateRaw, type ZlibOptions } from 'node:zlib';
import StreamZip from 'node-stream-zip';
import type { ReadEntry } from 'tar';
import { UserError } from './errors.js';
import { integrityOf, integrityOfHash } from './integrity.js';
import type { AppFormat } from './app-manifest.js';
import { streamed } from './streaming-memory.js';

/**
 * Unpacks a verified artifact into a staging folder. The whole entry list is
 * checked first (traversal, absolute paths, drive letters, links out, writing
 * through a link, devices/FIFOs, duplicate or case-colliding names, declared
 * size over the cap) so a hostile archive writes nothing; the cap is enforced
 * again while writing because declared sizes can lie. Zip entries are written
 * here, keeping symlinks and Unix modes (node-stream-zip's own extract drops both).
 */
export interface PlannedEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode: number;
  size: number;
  link?: string;
  /** sha512 (SRI) of a file's bytes as written, for `ao-app verify`. */
  integrity?: string;
}

function refuse(archive: string, why: string): UserError {
  return new UserError({
    what: `refusing to unpack ${archive}`,
    why,
    fix: 'nothing was installed; report this to the ao maintainers, the release artifact is unsafe',
    code: 'EUNSAFEARCHIVE',
  });
}

function segmentsOf(archive: string, raw: string): string[] {
  if (raw.includes('\0')) throw refuse(archive, `entry ${JSON.stringify(raw)} contains a NUL byte`);
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/')) throw refuse(archive, `entry ${JSON.stringify(raw)} is an absolute path`);
  if (/^[a-zA-Z]:/.test(name)) throw refuse(archive, `entry ${JSON.stringify(raw)} names a Windows drive`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(archive, `entry ${JSON.stringify(raw)} climbs out with ".."`);
  if (parts.length === 0) throw refuse(archive, `entry ${JSON.stringify(raw)} has no name`);
  return parts;
}

/** Checks the entry list as a whole; returns entries with clean "/"-joined paths. */
export function checkPlan(archive: string, raw: Array<Omit<PlannedEntry, 'path'> & { path: string }>, cap: number): PlannedEntry[] {
  const entries: PlannedEntry[] = [];
  const byPath = new Map<string, PlannedEntry>();
  const byLower = new Map<string, { path: string; dir: boolean }>();
  let total = 0;
  const claim = (path: string, dir: boolean) => {
    const seen = byLower.get(path.toLowerCase());
    if (!seen) return void byLower.set(path.toLowerCase(), { path, dir });
    if (seen.path !== path) throw refuse(archive, `entries "${seen.path}" and "${path}" differ only in case (they collide on macOS and Windows)`);
    if (!(seen.dir && dir)) throw refuse(archive, `entry "${path}" appears more than once`);
  };
  for (const e of raw) {
    // `tar czf x.tar.gz -C dir .` starts with a "./" entry: the root itself, nothing to create.
    if (e.type === 'dir' && /^(\.\/?)+$/.test(e.path)) continue;
    const parts = segmentsOf(archive, e.path);
    const path = parts.join('/');
    for (let i = 1; i < parts.length; i++) claim(parts.slice(0, i).join('/'), true);
    claim(path, e.type === 'dir');
    total += e.type === 'file' ? e.size : 0;
    if (total > cap) throw refuse(archive, `it unpacks to more than ${cap} bytes, the cap the manifest allows`);
    const entry = { ...e, path };
    entries.push(entry);
    byPath.set(path, entry);
  }
  const links = new Map(entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.link ?? '']));
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (links.has(parts.slice(0, i).join('/')))
        throw refuse(archive, `entry "${e.path}" would be written through the symlink "${parts.slice(0, i).join('/')}"`);
    }
    if (e.type === 'symlink') {
      const target = e.link ?? '';
      if (target.startsWith('/') || /^[a-zA-Z]:/.test(target) || target.includes('\\'))
        throw refuse(archive, `symlink "${e.path}" points to the absolute path ${JSON.stringify(target)}`);
      if (resolveInside([...parts.slice(0, -1), ...target.split('/')], links, 0) === undefined)
        throw refuse(archive, `symlink "${e.path}" points outside the app (${JSON.stringify(target)})`);
    }
    if (e.type === 'hardlink') {
      const target = (e.link ?? '')
        .replace(/\\/g, '/')
        .split('/')
        .filter((p) => p && p !== '.');
      const dest = byPath.get(target.join('/'));
      if (target.includes('..') || (e.link ?? '').startsWith('/') || !dest || dest.type !== 'file')
        throw refuse(archive, `hardlink "${e.path}" points outside the app's files (${JSON.stringify(e.link)})`);
    }
  }
  return entries;
}

/** Resolves a path inside the archive's own tree, following its symlinks; undefined when it leaves the root. */
function resolveInside(segments: string[], links: Map<string, string>, depth: number): string[] | undefined {
  if (depth > 32) return undefined;
  const out: string[] = [];
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(seg);
    const link = links.get(out.join('/'));
    if (link !== undefined) {
      if (link.startsWith('/')) return undefined;
      const resolved = resolveInside([...out.slice(0, -1), ...link.split('/')], links, depth + 1);
      if (resolved === undefined) return undefined;
      out.splice(0, out.length, ...resolved);
    }
  }
  return out;
}

function inside(root: string, path: string): string {
  const full = resolve(root, path);
  if (!full.startsWith(root + sep)) throw new Error(`internal: ${path} resolves outside ${root}`);
  return full;
}

const cleanPath = (path: string) =>
  path
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p && p !== '.')
    .join('/');

/** Counts bytes as they are written and fails past the cap; with `digested`, hashes them too. */
function capCounter(archive: string, budget: { left: number }, digested?: (integrity: string) => void): Transform {
  const hash = digested ? createHash('sha512') : undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      budget.left -= chunk.length;
      streamed(chunk.length);
      hash?.update(chunk);
      if (budget.left < 0) done(refuse(archive, 'it unpacks to more bytes than its entries declare and than the manifest allows'));
      else done(null, chunk);
    },
    flush(done) {
      if (hash) digested!(integrityOfHash(hash));
      done();
    },
  });
}

/** node-stream-zip's own entry stream reads 16 KiB at a time and checks CRC-32 byte by byte in JS (~100 MB/s); 1 MiB reads and writes pushed memory.test.ts's zip install to 97 MB peak RSS, 256 KiB stays within bounds. */
const ZIP_READ_SIZE = 256 << 10;

/** Where an entry's data starts, from its local header (whose name and extra lengths may differ from the central directory's). */
async function zipDataStart(fh: FileHandle, entry: StreamZip.ZipEntry): Promise<number> {
  const header = Buffer.alloc(30);
  await fh.read(header, 0, 30, entry.offset);
  if (header.readUInt32LE(0) !== 0x04034b50) throw new Error('invalid local header');
  if (entry.encrypted) throw new Error('entry is encrypted');
  if (entry.method !== 0 && entry.method !== 8) throw new Error(`unknown compression method ${entry.method}`);
  return entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
}

/**
 * One zip entry's unpacked bytes, checked against the central directory's
 * size and CRC-32 (native `zlib.crc32`) and hashed as they stream.
 * node-stream-zip still parses the archive; only the data is read here.
 */
function zipEntryData(archive: string, entry: StreamZip.ZipEntry, start: number, digest: Hash): NodeJS.ReadableStream[] {
  const raw = createReadStream(archive, { start, end: start + entry.compressedSize - 1, highWaterMark: ZIP_READ_SIZE });
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      digest.update(chunk);
      size += chunk.length;
      if (size > entry.size) done(new Error('more bytes than its declared size'));
      else done(null, chunk);
    },
    flush(done) {
      if (size !== entry.size) done(new Error(`${size} bytes instead of the declared ${entry.size}`));
      else if (crc !== entry.crc) done(new Error('CRC-32 mismatch'));
      else done();
    },
  });
  return entry.method === 8 ? [raw, createInflateRaw({ chunkSize: 64 << 10 }), check] : [raw, check];
}

/** Most of an Electron app's ~3,000 entries are small: one read, one inflate (on libuv's pool), one write. */
const SMALL_ENTRY = 256 << 10;
/** Small entries written at once: zlib and file I/O run on libuv's threads, so both cores work. */
const ZIP_WORKERS = 4;
const inflateRawAsync = promisify(inflateRaw) as (buf: Buffer, options: ZlibOptions) => Promise<Buffer>;

async function writeSmallZipEntry(
  archive: string,
  fh: FileHandle,
  entry: StreamZip.ZipEntry,
  start: number,
  dest: string,
  mode: number,
  budget: { left: number },
): Promise<string> {
  const packed = Buffer.alloc(entry.compressedSize);
  if (packed.length > 0) await fh.read(packed, 0, packed.length, start);
  // maxOutputLength: a lying size cannot make inflate allocate more than the entry declared.
  const data = entry.method === 8 ? await inflateRawAsync(packed, { maxOutputLength: Math.max(1, entry.size) + 1 }) : packed;
  if (data.length !== entry.size) throw new Error(`${data.length} bytes instead of the declared ${entry.size}`);
  if (crc32(data) !== entry.crc) throw new Error('CRC-32 mismatch');
  budget.left -= data.length;
  if (budget.left < 0) throw refuse(archive, 'it unpacks to more bytes than its entries declare and than the manifest allows');
  streamed(data.length + packed.length);
  const out = await open(dest, 'wx');
  try {
    await out.writeFile(data);
    await out.chmod(mode);
  } finally {
    await out.close();
  }
  return integrityOf(data);
}

/** Runs `fn` over `items`, `width` at a time; stops taking new items after the first failure and rethrows it once all in flight have settled. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!; // next < items.length, checked just above
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failure) throw failure.error;
}

const S_IFMT = 0o170000;

export async function extractZip(archive: string, staging: string, cap: number): Promise<PlannedEntry[]> {
  const zip = new StreamZip.async({ file: archive, storeEntries: true, skipEntryNameValidation: true });
  try {
    const raw: PlannedEntry[] = [];
    const all = await zip.entries();
    // entries() is keyed by name, so a repeated name only shows in the count.
    if (Object.keys(all).length !== (await zip.entriesCount)) throw refuse(archive, 'some entry names appear more than once');
    for (const entry of Object.values(all)) {
      // Finder's zip keeps resource forks in __MACOSX/; ditto folds them back, it never unpacks them as files.
      if (/^__MACOSX(\/|$)/.test(entry.name.replace(/\\/g, '/'))) continue;
      const unixMode = (entry.attr >>> 16) & 0xffff;
      const kind = unixMode & S_IFMT;
      const type: PlannedEntry['type'] = entry.isDirectory || kind === 0o040000 ? 'dir' : kind === 0o120000 ? 'symlink' : 'file';
      if (kind !== 0 && kind !== 0o100000 && kind !== 0o040000 && kind !== 0o120000) {
        throw refuse(archive, `entry ${JSON.stringify(entry.name)} is a device, FIFO or socket (mode ${unixMode.toString(8)})`);
      }
      const link = type === 'symlink' ? (entry.size > 4096 ? '/' : (await zip.entryData(entry)).toString('utf8')) : undefined;
      raw.push({ path: entry.name, type, mode: unixMode & 0o777, size: entry.size, link });
    }
    const plan = checkPlan(archive, raw, cap);
    const budget = { left: cap };
    const names = new Map(
      Object.values(await zip.entries()).map((e) => [
        e.name
          .replace(/\\/g, '/')
          .split('/')
          .filter((p) => p && p !== '.')
          .join('/'),
        e.name,
      ]),
    );
    for (const e of plan.filter((x) => x.type === 'dir')) await mkdir(inside(staging, e.path), { recursive: true, mode: 0o755 });
    const made = new Set<string>();
    const fh = await open(archive, 'r');
    try {
      const writeOne = async (e: PlannedEntry) => {
        const dest = inside(staging, e.path);
        if (!made.has(dirname(dest))) {
          await mkdir(dirname(dest), { recursive: true });
          made.add(dirname(dest));
        }
        // The archive's own mode, as ditto keeps it (a zip made without Unix modes gets 0644); always readable by us.
        const mode = (e.mode & 0o777 || 0o644) | 0o400;
        try {
          const entry = (await zip.entry(names.get(e.path)!))!;
          const start = await zipDataStart(fh, entry);
          if (entry.size <= SMALL_ENTRY && entry.compressedSize <= SMALL_ENTRY) {
            e.integrity = await writeSmallZipEntry(archive, fh, entry, start, dest, mode, budget);
            return;
          }
          const digest = createHash('sha512');
          await pipeline([...zipEntryData(archive, entry, start, digest), capCounter(archive, budget), createWriteStream(dest, { flags: 'wx' })]);
          e.integrity = integrityOfHash(digest);
          await chmod(dest, mode);
        } catch (cause) {
          if (isDiskError(cause)) throw cause;
          // Sizes or CRCs that lie only show while reading the data.
          throw cause instanceof UserError ? cause : refuse(archive, `entry "${e.path}" is corrupt (${(cause as Error).message})`);
        }
      };
      // Small entries four at a time; large ones one at a time (their inflate still runs on a libuv thread
      // beside the main thread's CRC and sha512): streaming two at once cost ~25 MB of peak RSS for no gain measurable here.
      const files = plan.filter((x) => x.type === 'file');
      const small = (e: PlannedEntry) => e.size <= SMALL_ENTRY;
      await inParallel(files.filter(small), ZIP_WORKERS, writeOne);
      await inParallel(
        files.filter((e) => !small(e)),
        1,
        writeOne,
      );
    } finally {
      await fh.close();
    }
    await createSymlinks(staging, plan);
    return plan;
  } finally {
    await zip.close();
  }
}

const TAR_TYPES: Record<string, PlannedEntry['type']> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

/** node-tar reads 16 MiB at a time by default; 1 MiB keeps the process small at no cost in speed. */
const TAR_READ_SIZE = 1 << 20;

export async function extractTarGz(archive: string, staging: string, cap: number): Promise<PlannedEntry[]> {
  // Loaded on demand: ~5 MB of RSS that zip artifacts (macOS, Windows) never need.
  const tar = await import('tar');
  const raw: PlannedEntry[] = [];
  let bad: UserError | undefined;
  try {
    await tar.t({
      file: archive,
      maxReadSize: TAR_READ_SIZE,
      strict: true,
      onReadEntry: (entry) => {
        // Listing inflates every byte too; the data is discarded, only counted.
        entry.on('data', (chunk: Buffer) => streamed(chunk.length));
        const type = TAR_TYPES[entry.type];
        if (!type) bad ??= refuse(archive, `entry ${JSON.stringify(entry.path)} is a ${entry.type}, not a file, folder or link`);
        else raw.push({ path: entry.path, type, mode: (entry.mode ?? 0o644) & 0o777, size: entry.size ?? 0, link: entry.linkpath });
      },
    });
  } catch (cause) {
    // node-tar's own guards (a gzip bomb's ratio, a corrupt header) end up here.
    throw refuse(archive, `it is not a sound tar.gz (${(cause as Error).message})`);
  }
  if (bad) throw bad;
  const plan = checkPlan(archive, raw, cap);
  // Symlinks are made here after the files, as for zips: node-tar can wait forever on its own
  // path reservation for a link naming its sibling (ao-desktop/ao -> ao-desktop).
  const allowed = new Set(plan.filter((e) => e.type !== 'symlink').map((e) => e.path));
  let written = 0;
  const budget = { left: cap };
  const digests = new Map<string, string>();
  await tar.x({
    file: archive,
    maxReadSize: TAR_READ_SIZE,
    // Every file's bytes pass through the counter: the cap holds even when a header lies about a size.
    // node-tar documents any stream here; its typings only name its own ReadEntry.
    transform: (entry: ReadEntry) => capCounter(archive, budget, (digest) => digests.set(cleanPath(entry.path), digest)) as unknown as ReadEntry,
    cwd: staging,
    strict: true,
    preserveOwner: false,
    noChmod: false,
    filter: (path, entry) => {
      const clean = cleanPath(path);
      written += 'size' in entry ? (entry.size ?? 0) : 0;
      if (written > cap) throw refuse(archive, 'it unpacks to more bytes than the manifest allows');
      return allowed.has(clean);
    },
  });
  for (const e of plan) if (e.type === 'file') e.integrity = digests.get(e.path);
  await createSymlinks(staging, plan);
  return plan;
}

/** Symlinks last, so no file can ever be written through one. */
async function createSymlinks(staging: string, plan: PlannedEntry[]): Promise<void> {
  for (const e of plan.filter((x) => x.type === 'symlink')) {
    const dest = inside(staging, e.path);
    await mkdir(dirname(dest), { recursive: true });
    await symlink(e.link!, dest);
  }
}

export async function extractAppImage(artifact: string, staging: string, file: string, integrity?: string): Promise<PlannedEntry[]> {
  const dest = inside(staging, file);
  await copyFile(artifact, dest);
  await chmod(dest, 0o755);
  return [{ path: file, type: 'file', mode: 0o755, size: (await stat(dest)).size, integrity }];
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

function isDiskError(err: unknown): boolean {
  return DISK_FULL.has((err as NodeJS.ErrnoException)?.code ?? '');
}

async function unpack(format: AppFormat, artifact: string, staging: string, cap: number, file: string, integrity?: string): Promise<PlannedEntry[]> {
  await mkdir(staging, { recursive: true });
  if (format === 'zip') return extractZip(artifact, staging, cap);
  if (format === 'tar.gz') return extractTarGz(artifact, staging, cap);
  // An AppImage runs as it is; a Windows installer is kept as verified and run from the version folder.
  return extractAppImage(artifact, staging, file, integrity);
}

/** `integrity`: the artifact's verified sha512, recorded for a single-file app (AppImage, exe). */
export async function extractArtifact(
  format: AppFormat,
  artifact: string,
  staging: string,
  cap: number,
  file: string,
  integrity?: string,
): Promise<PlannedEntry[]> {
  try {
    return await unpack(format, artifact, staging, cap, file, integrity);
  } catch (err) {
    if (!isDiskError(err)) throw err;
    throw new UserError({
      what: 'the disk filled up while unpacking the desktop app',
      why: `${staging}: ${(err as Error).message} (nothing was installed; the verified download is kept)`,
      fix: 'free some space there (or set AO_APP_DIR to a folder on a larger disk), then run ao-app install again: it unpacks without downloading again',
      code: 'ENOSPC',
      cause: err,
    });
  }
}
