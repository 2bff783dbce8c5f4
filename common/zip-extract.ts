import { closeSync, createWriteStream, openSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import StreamZip from 'node-stream-zip';
import { UserError } from './errors.js';
import { integrityOfHash } from './integrity.js';
import { checkPlan, refuse, type PlannedEntry } from './archive-plan.js';
import { capCounter, createSymlinks, inside, isDiskError } from './archive-write.js';
import { settle } from './streaming-memory.js';
import { readSmallEntry, SMALL_ENTRY, SmallEntryError, writeSmallEntries } from './zip-small-entries.js';

/**
 * A zip (the macOS and Windows app) unpacked by our own writer, keeping symlinks and Unix modes
 * (node-stream-zip's own extract drops both); node-stream-zip parses the central directory.
 * Small entries are written synchronously between the turns of the large entries' streams
 * (zip-small-entries.ts): the main thread and libuv's pool work on both cores at once.
 */
const S_IFMT = 0o170000;

/** Large entries are read in 64 KiB slices: 1 MiB pushed memory.test.ts's zip install to 97 MB peak RSS, and 256 KiB (about 10% faster) to 84-85 MB on the Electron-like zip (installer/app/README.md, Memory). */
const ZIP_READ_SIZE = 64 << 10;

/** Where a large entry's data starts, from its local header (whose name and extra lengths may differ from the central directory's). */
async function zipDataStart(fh: FileHandle, entry: EntryData): Promise<number> {
  const header = Buffer.alloc(30);
  const { bytesRead } = await fh.read(header, 0, 30, entry.offset);
  if (bytesRead !== 30 || header.readUInt32LE(0) !== 0x04034b50) throw new Error('invalid local header');
  return entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
}

/**
 * The archive's bytes from `start`, `length` of them, in ZIP_READ_SIZE slices; with `until`, each
 * slice first waits until the archive holds it (it is still being downloaded).
 */
async function* slices(fh: FileHandle, start: number, length: number, until?: (end: number) => Promise<void>): AsyncGenerator<Buffer> {
  for (let at = start, end = start + length; at < end; ) {
    const want = Math.min(ZIP_READ_SIZE, end - at);
    await until?.(at + want);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, at);
    if (bytesRead === 0) throw new Error('the archive ends inside it');
    at += bytesRead;
    yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
  }
}

/**
 * One large entry's unpacked bytes, checked against the central directory's
 * size and CRC-32 (native `zlib.crc32`) and hashed as they stream.
 */
function zipEntryData(fh: FileHandle, entry: EntryData, start: number, digest: Hash, until?: (end: number) => Promise<void>): NodeJS.ReadableStream[] {
  const raw = Readable.from(slices(fh, start, entry.compressedSize, until), { objectMode: false, highWaterMark: ZIP_READ_SIZE });
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

/** A disk error as it is; anything else while reading an entry's data means the archive lies. */
function entryFailure(archive: string, path: string, cause: unknown): unknown {
  if (isDiskError(cause) || cause instanceof UserError) return cause;
  return refuse(archive, `entry "${path}" is corrupt (${(cause as Error).message})`);
}

/** What the writer needs of a central directory entry. */
type EntryData = Pick<StreamZip.ZipEntry, 'offset' | 'compressedSize' | 'size' | 'crc' | 'method' | 'encrypted'>;

/**
 * A planned entry and where its data is, in one flat object of one shape for every entry
 * (an Electron app has ~3,000 of them, alive until the completion marker is written).
 */
export type ZipPlanned = PlannedEntry & EntryData;

/**
 * The entry list, checked as a whole before anything is written, and where each entry's data is.
 * The zip is closed and node-stream-zip's ~3,000 entry objects collected before the checks
 * allocate theirs: the heap holds one set, not both (peak RSS of the Electron-like bench -2 MB).
 */
async function planZip(archive: string, cap: number): Promise<ZipPlanned[]> {
  const raw = await readEntries(archive);
  settle();
  return checkPlan(archive, raw, cap);
}

/**
 * The entry list from a copy of the archive's tail alone (`scratch`: a sparse file of the archive's
 * size holding only its end), checked as a whole, for unpacking while the rest is downloaded.
 * Symlink targets live in the entries' data, not in the tail: they are left unset here (the checks
 * that need them run again in `linkZipEntries`, on the verified archive, before any link is made).
 */
export async function planZipFromTail(scratch: string, cap: number): Promise<ZipPlanned[]> {
  const raw = await readEntries(scratch, false);
  settle();
  return checkPlan(scratch, raw, cap);
}

/** The central directory's entries, in a function of their own so nothing of node-stream-zip outlives it. */
async function readEntries(archive: string, readLinks = true): Promise<ZipPlanned[]> {
  const zip = new StreamZip.async({ file: archive, storeEntries: true, skipEntryNameValidation: true });
  try {
    const all = await zip.entries();
    // entries() is keyed by name, so a repeated name only shows in the count.
    if (Object.keys(all).length !== (await zip.entriesCount)) throw refuse(archive, 'some entry names appear more than once');
    return await rawEntries(archive, zip, all, readLinks);
  } finally {
    await zip.close();
  }
}

async function rawEntries(
  archive: string,
  zip: InstanceType<typeof StreamZip.async>,
  all: Record<string, StreamZip.ZipEntry>,
  readLinks: boolean,
): Promise<ZipPlanned[]> {
  const raw: ZipPlanned[] = [];
  for (const entry of Object.values(all)) {
    // Finder's zip keeps resource forks in __MACOSX/; ditto folds them back, it never unpacks them as files.
    if (/^__MACOSX(\/|$)/.test(entry.name.replace(/\\/g, '/'))) continue;
    const unixMode = (entry.attr >>> 16) & 0xffff;
    const kind = unixMode & S_IFMT;
    const type: PlannedEntry['type'] = entry.isDirectory || kind === 0o040000 ? 'dir' : kind === 0o120000 ? 'symlink' : 'file';
    if (kind !== 0 && kind !== 0o100000 && kind !== 0o040000 && kind !== 0o120000) {
      throw refuse(archive, `entry ${JSON.stringify(entry.name)} is a device, FIFO or socket (mode ${unixMode.toString(8)})`);
    }
    const link = type === 'symlink' && readLinks ? (entry.size > 4096 ? '/' : (await zip.entryData(entry)).toString('utf8')) : undefined;
    const { name: path, size, offset, compressedSize, crc, method, encrypted } = entry;
    raw.push({ path, type, mode: unixMode & 0o777, size, link, integrity: undefined, offset, compressedSize, crc, method, encrypted });
  }
  return raw;
}

export async function extractZip(archive: string, staging: string, cap: number): Promise<PlannedEntry[]> {
  const plan = await planZip(archive, cap);
  await unpackZip(archive, staging, plan, cap);
  await createSymlinks(staging, plan);
  return plan;
}

/** An archive still being downloaded: `until(end)` settles once its first `end` bytes are on disk; `dataEnd` is where its central directory starts. */
export interface ArrivingArchive {
  until: (end: number) => Promise<void>;
  dataEnd: number;
}

/**
 * Writes a checked plan's folders and files (not its symlinks) into `staging`. With `arriving`, each
 * entry is written as soon as its bytes are on disk, in the archive's order; an entry is taken to end
 * where the next one starts (a zip that lies about that fails its read, size or CRC-32 check).
 */
export async function unpackZip(archive: string, staging: string, plan: ZipPlanned[], cap: number, arriving?: ArrivingArchive): Promise<void> {
  const files = plan.filter((x) => x.type === 'file');
  const folders = new Set([...plan.filter((x) => x.type === 'dir').map((e) => inside(staging, e.path)), ...files.map((e) => dirname(inside(staging, e.path)))]);
  for (const folder of folders) await mkdir(folder, { recursive: true, mode: 0o755 });

  const small: ZipPlanned[] = [];
  const large: ZipPlanned[] = [];
  for (const e of files) {
    if (e.encrypted) throw refuse(archive, `entry "${e.path}" is encrypted`);
    if (e.method !== 0 && e.method !== 8) throw refuse(archive, `entry "${e.path}" uses the unknown compression method ${e.method}`);
    (e.size > SMALL_ENTRY || e.compressedSize > SMALL_ENTRY ? large : small).push(e);
  }
  let arrived: ((e: { offset: number }) => Promise<void>) | undefined;
  if (arriving) {
    // In the order the bytes come in; each entry's end is the next local header (or the central directory).
    const byOffset = (a: ZipPlanned, b: ZipPlanned) => a.offset - b.offset;
    small.sort(byOffset);
    large.sort(byOffset);
    const starts = Float64Array.from(plan, (e) => e.offset).sort();
    arrived = (e) => arriving.until(nextStart(starts, e.offset, arriving.dataEnd));
  }
  // The central directory's objects and the checks' garbage are gone: the unpack starts from a small heap.
  settle();

  // The small entries' sizes are checked exactly as they are written; the plan capped their sum.
  const budget = { left: cap - small.reduce((sum, e) => sum + e.size, 0) };
  let failed = false;
  // Each large entry: read (waiting for its bytes while they download), inflated, checked, hashed, written.
  const writeLargeEntry = async (fh: FileHandle, e: ZipPlanned, until?: (end: number) => Promise<void>) => {
    const dest = inside(staging, e.path);
    const digest = createHash('sha512');
    try {
      await until?.(e.offset + 30);
      const start = await zipDataStart(fh, e);
      await pipeline([...zipEntryData(fh, e, start, digest, until), capCounter(archive, budget), createWriteStream(dest, { flags: 'wx' })]);
    } catch (cause) {
      throw entryFailure(archive, e.path, cause);
    }
    e.integrity = integrityOfHash(digest);
    // The archive's own mode, as ditto keeps it (a zip made without Unix modes gets 0644); always readable by us.
    await chmod(dest, (e.mode & 0o777 || 0o644) | 0o400);
  };
  const writeLarge = async () => {
    const fh = await open(archive, 'r');
    try {
      if (arriving) {
        // All at once, each as its bytes come in (one after the other, a later entry whose bytes are
        // all there waits for an earlier one's slow inflate); each stops at its next slice once one fails.
        const until = (end: number) => (failed ? Promise.reject(new Error('stopped: another entry failed')) : arriving.until(end));
        const stopOthers = (err: unknown) => {
          failed = true;
          throw err;
        };
        const results = await Promise.allSettled(large.map((e) => writeLargeEntry(fh, e, until).catch(stopOthers)));
        const failure = results.find((r) => r.status === 'rejected');
        if (failure) throw failure.reason;
        return;
      }
      for (const e of large) {
        if (failed) return;
        await writeLargeEntry(fh, e);
      }
    } finally {
      await fh.close();
    }
  };
  const writeSmall = () =>
    writeSmallEntries(archive, staging, small, () => failed, arrived).catch((err: unknown) => {
      throw err instanceof SmallEntryError ? entryFailure(archive, small[err.index]!.path, err.cause) : err;
    });
  // Both at once; once either fails, the other stops at its next entry, and the first failure is reported.
  let firstFailure: { error: unknown } | undefined;
  const noting = (work: Promise<void>) =>
    work.catch((error: unknown) => {
      failed = true;
      firstFailure ??= { error };
    });
  await Promise.all([noting(writeLarge()), noting(writeSmall())]);
  if (firstFailure) throw firstFailure.error;
}

/** The first entry start after `offset` in the sorted `starts`, or `end`. */
function nextStart(starts: Float64Array, offset: number, end: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < starts.length ? starts[lo]! : end;
}

/**
 * The last step of a plan made from the archive's tail (`planZipFromTail`), once the archive is
 * verified: each symlink's target read from its entry (checked against its size and CRC-32), the
 * whole plan checked again with them, then the symlinks made.
 */
export async function linkZipEntries(archive: string, staging: string, plan: ZipPlanned[], cap: number): Promise<PlannedEntry[]> {
  const fd = openSync(archive, 'r');
  try {
    const scratch = Buffer.allocUnsafe(SMALL_ENTRY);
    for (const e of plan) {
      if (e.type !== 'symlink') continue;
      // As readEntries does: a target this long is no target an app needs, and is refused.
      e.link = e.size > 4096 || e.compressedSize > SMALL_ENTRY ? '/' : readSmallEntry(fd, e, scratch).data.toString('utf8');
    }
  } finally {
    closeSync(fd);
  }
  const checked = checkPlan(archive, plan, cap);
  await createSymlinks(staging, checked);
  return checked;
}
