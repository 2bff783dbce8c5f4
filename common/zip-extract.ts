import { createReadStream, createWriteStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { chmod, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import StreamZip from 'node-stream-zip';
import { UserError } from './errors.js';
import { integrityOfHash } from './integrity.js';
import { appleDoubleCompanions, checkPlan, refuse, type PlannedEntry } from './archive-plan.js';
import { capCounter, createSymlinks, ENTRY_DIGEST, fileMode, inside } from './archive-write.js';
import { isFileSystemError } from './file-system-error.js';
import { settle } from './streaming-memory.js';
import { makeFolderLevels } from './make-folder.js';
import { SMALL_ENTRY, SmallEntryError, writeSmallEntries } from './zip-small-entries.js';

/**
 * A zip (the macOS and Windows app) unpacked by our own writer, keeping symlinks and Unix modes
 * (node-stream-zip's own extract drops both); node-stream-zip parses the central directory.
 * Small entries are written synchronously between the turns of the large entries' streams
 * (zip-small-entries.ts): the main thread and libuv's pool work on both cores at once.
 */
const S_IFMT = 0o170000;

/**
 * Large entries are read and inflated in 128 KiB slices. Each slice costs a few trips through libuv's
 * pool and a turn of the main thread, so 64 KiB slices took 1.5 s to unpack the Electron-like bench
 * zip and 128 KiB ones about 1.0 s, peak RSS unchanged (71-72 MB); 256 KiB reached 78-80 MB and
 * 1 MiB 93 MB (installer/app/README.md, Memory).
 */
const ZIP_SLICE = 128 << 10;

/** Large entries unpacked at once: two keep both cores busy (one inflating, one copying stored or incompressible bytes). */
const LARGE_LANES = 2;

/** Where a large entry's data starts, from its local header (whose name and extra lengths may differ from the central directory's). */
async function zipDataStart(fh: FileHandle, entry: EntryData): Promise<number> {
  const header = Buffer.alloc(30);
  const { bytesRead } = await fh.read(header, 0, 30, entry.offset);
  if (bytesRead !== 30 || header.readUInt32LE(0) !== 0x04034b50) throw new Error('invalid local header');
  return entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
}

/**
 * One large entry's unpacked bytes, checked against the central directory's
 * size and CRC-32 (native `zlib.crc32`) and hashed as they stream.
 */
function zipEntryData(archive: string, entry: EntryData, start: number, digest: Hash): NodeJS.ReadableStream[] {
  const raw = createReadStream(archive, { start, end: start + entry.compressedSize - 1, highWaterMark: ZIP_SLICE });
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
  return entry.method === 8 ? [raw, createInflateRaw({ chunkSize: ZIP_SLICE }), check] : [raw, check];
}

/** A file-system error (a full disk, too many open files, a file-size limit...) as it is; anything else while reading an entry's data means the archive lies. */
function entryFailure(archive: string, path: string, cause: unknown): unknown {
  if (isFileSystemError(cause) || cause instanceof UserError) return cause;
  return refuse(archive, `entry "${path}" is corrupt (${(cause as Error).message})`);
}

/** What the writer needs of a central directory entry. */
type EntryData = Pick<StreamZip.ZipEntry, 'offset' | 'compressedSize' | 'size' | 'crc' | 'method' | 'encrypted'>;

/**
 * A planned entry and where its data is, in one flat object of one shape for every entry
 * (an Electron app has ~3,000 of them, alive until the completion marker is written).
 */
type ZipPlanned = PlannedEntry & EntryData;

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

/** The central directory's entries, in a function of their own so nothing of node-stream-zip outlives it. */
async function readEntries(archive: string): Promise<ZipPlanned[]> {
  const zip = new StreamZip.async({ file: archive, storeEntries: true, skipEntryNameValidation: true });
  try {
    const all = await zip.entries().catch((cause: unknown) => {
      // Reading the verified file failed (EIO...): this disk's fault. Anything else: the bytes are no zip.
      throw isFileSystemError(cause) ? cause : refuse(archive, `it is not a sound zip (${(cause as Error).message})`);
    });
    // entries() is keyed by name, so a repeated name only shows in the count.
    if (Object.keys(all).length !== (await zip.entriesCount)) throw refuse(archive, 'some entry names appear more than once');
    return await rawEntries(archive, zip, all);
  } finally {
    // A zip that never opened fails its close with the same error: the first one is what is reported.
    await zip.close().catch(() => undefined);
  }
}

/** MS-DOS's folder attribute, in the low byte of the external attributes (a zip made on Windows may name a folder without a trailing slash). */
const DOS_FOLDER = 0x10;

async function rawEntries(archive: string, zip: InstanceType<typeof StreamZip.async>, all: Record<string, StreamZip.ZipEntry>): Promise<ZipPlanned[]> {
  const raw: ZipPlanned[] = [];
  const companions = appleDoubleCompanions(Object.keys(all));
  for (const entry of Object.values(all)) {
    // Finder's zip keeps resource forks in __MACOSX/; ditto folds them back, it never unpacks them as files.
    if (/^__MACOSX(\/|$)/.test(entry.name.replace(/\\/g, '/')) || companions.has(entry.name)) continue;
    const unixMode = (entry.attr >>> 16) & 0xffff;
    const kind = unixMode & S_IFMT;
    const dosFolder = kind === 0 && (entry.attr & DOS_FOLDER) !== 0;
    const type: PlannedEntry['type'] = entry.isDirectory || kind === 0o040000 || dosFolder ? 'dir' : kind === 0o120000 ? 'symlink' : 'file';
    if (kind !== 0 && kind !== 0o100000 && kind !== 0o040000 && kind !== 0o120000) {
      throw refuse(archive, `entry ${JSON.stringify(entry.name)} is a device, FIFO or socket (mode ${unixMode.toString(8)})`);
    }
    const link =
      type === 'symlink'
        ? entry.size > 4096
          ? '/'
          : (
              await zip.entryData(entry).catch((cause: unknown) => {
                throw entryFailure(archive, entry.name, cause);
              })
            ).toString('utf8')
        : undefined;
    const { name: path, size, offset, compressedSize, crc, method, encrypted } = entry;
    raw.push({ path, type, mode: unixMode & 0o777, size, link, integrity: undefined, offset, compressedSize, crc, method, encrypted });
  }
  return raw;
}

/** `midway` (tests): awaited once every file is written, before the links are made: the unpack stopped halfway. */
export async function extractZip(archive: string, staging: string, cap: number, midway?: () => Promise<void>): Promise<PlannedEntry[]> {
  const plan = await planZip(archive, cap);
  const files = plan.filter((x) => x.type === 'file');
  for (const e of files) {
    if (e.encrypted) throw refuse(archive, `entry "${e.path}" is encrypted`);
    if (e.method !== 0 && e.method !== 8) throw refuse(archive, `entry "${e.path}" uses the unknown compression method ${e.method}`);
  }
  const folders = new Set([...plan.filter((x) => x.type === 'dir').map((e) => inside(staging, e.path)), ...files.map((e) => dirname(inside(staging, e.path)))]);
  for (const folder of folders) await makeFolderLevels(folder);

  const small: ZipPlanned[] = [];
  const large: ZipPlanned[] = [];
  for (const e of files) {
    (e.size > SMALL_ENTRY || e.compressedSize > SMALL_ENTRY ? large : small).push(e);
  }
  // The central directory's objects and the checks' garbage are gone: the unpack starts from a small heap.
  settle();

  // The small entries' sizes are checked exactly as they are written; the plan capped their sum.
  const budget = { left: cap - small.reduce((sum, e) => sum + e.size, 0) };
  let failed = false;
  // Largest first, taken in turn by each lane: the Electron Framework's inflate and app.asar's copy overlap.
  large.sort((a, b) => b.compressedSize - a.compressedSize);
  let nextLarge = 0;
  const writeLarge = async (fh: FileHandle) => {
    while (nextLarge < large.length && !failed) {
      const e = large[nextLarge++]!;
      const dest = inside(staging, e.path);
      const digest = createHash(ENTRY_DIGEST);
      try {
        const start = await zipDataStart(fh, e);
        await pipeline([...zipEntryData(archive, e, start, digest), capCounter(archive, budget), createWriteStream(dest, { flags: 'wx' })]);
      } catch (cause) {
        throw entryFailure(archive, e.path, cause);
      }
      e.integrity = integrityOfHash(digest, ENTRY_DIGEST);
      await chmod(dest, fileMode(e.mode));
    }
  };
  const writeSmall = () =>
    writeSmallEntries(archive, staging, small, () => failed).catch((err: unknown) => {
      throw err instanceof SmallEntryError ? entryFailure(archive, small[err.index]!.path, err.cause) : err;
    });
  // All at once; once one fails, the others stop at their next entry, and the first failure is reported.
  let firstFailure: { error: unknown } | undefined;
  const noting = (work: Promise<void>) =>
    work.catch((error: unknown) => {
      failed = true;
      firstFailure ??= { error };
    });
  const fh = await open(archive, 'r');
  try {
    await Promise.all([...Array.from({ length: LARGE_LANES }, () => noting(writeLarge(fh))), noting(writeSmall())]);
  } finally {
    await fh.close();
  }
  if (firstFailure) throw firstFailure.error;
  await midway?.();
  await createSymlinks(staging, plan);
  return plan;
}
