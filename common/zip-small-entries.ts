import { closeSync, fchmodSync, openSync, readSync, writeSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { ENTRY_DIGEST, fileMode, inside } from './archive-write.js';
import { integrityOf } from './integrity.js';
import { streamed } from './streaming-memory.js';

/**
 * An Electron app's zip holds ~3,000 small entries. Written with async calls each cost seven trips
 * through libuv's pool (header read, data read, inflate, open, write, chmod, close) and as many
 * promise turns: that bookkeeping, not the bytes, was most of the unpack time. Here each small
 * entry is read, inflated, checked and written with plain synchronous calls on the main thread,
 * one entry per event-loop turn, so the large entries streaming meanwhile (their reads, inflate and
 * writes on libuv's pool) keep the second core busy. A worker thread did the same but cost ~10 MB
 * of peak RSS for its own V8 heap. Every entry is checked against the central directory's size and
 * CRC-32, and hashed for `ao-app verify`.
 */
interface SmallEntryJob {
  /** The entry's clean path inside the staging folder (its folder exists). */
  path: string;
  /** The archive's permission bits. */
  mode: number;
  /** Where the entry's local header starts. */
  offset: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** 0 stored, 8 deflated (others are refused before this). */
  method: number;
  /** Set once written: the digest (SRI) of its bytes. */
  integrity?: string;
}

/** The largest small entry, compressed or not (zip-extract.ts picks them). */
export const SMALL_ENTRY = 256 << 10;

/** Writes one entry; `scratch` (SMALL_ENTRY bytes) holds its compressed bytes, read once per entry into the same memory. */
function writeSmallEntry(fd: number, staging: string, job: SmallEntryJob, scratch: Buffer): void {
  // The local header's name and extra lengths may differ from the central directory's.
  if (readSync(fd, scratch, 0, 30, job.offset) !== 30 || scratch.readUInt32LE(0) !== 0x04034b50) throw new Error('invalid local header');
  const start = job.offset + 30 + scratch.readUInt16LE(26) + scratch.readUInt16LE(28);
  const packed = scratch.subarray(0, job.compressedSize);
  if (packed.length > 0 && readSync(fd, packed, 0, packed.length, start) !== packed.length) throw new Error('the archive ends inside it');
  // maxOutputLength: a lying size cannot make inflate allocate more than the entry declared; a chunk
  // one byte over the declared size inflates it into one buffer (16 KiB chunks and a concat otherwise).
  const data = job.method === 8 ? inflateRawSync(packed, { maxOutputLength: Math.max(1, job.size) + 1, chunkSize: Math.max(64, job.size + 1) }) : packed;
  if (data.length !== job.size) throw new Error(`${data.length} bytes instead of the declared ${job.size}`);
  if (crc32(data) !== job.crc) throw new Error('CRC-32 mismatch');
  const mode = fileMode(job.mode);
  const out = openSync(inside(staging, job.path), 'wx', mode);
  try {
    for (let written = 0; written < data.length; ) written += writeSync(out, data, written);
    fchmodSync(out, mode);
  } finally {
    closeSync(out);
  }
  streamed(packed.length + data.length);
  job.integrity = integrityOf(data, ENTRY_DIGEST);
}

/** The failing job's index travels with the error, so the caller can name the entry. */
export class SmallEntryError extends Error {
  constructor(
    readonly index: number,
    readonly cause: unknown,
  ) {
    super((cause as Error).message);
  }
}

/** Writes every job into `staging`, one per event-loop turn; `stopped()` ends the loop early (the large entries failed). */
export async function writeSmallEntries(archive: string, staging: string, jobs: SmallEntryJob[], stopped: () => boolean): Promise<void> {
  const scratch = Buffer.allocUnsafe(SMALL_ENTRY);
  const fd = openSync(archive, 'r');
  try {
    for (let i = 0; i < jobs.length && !stopped(); i++) {
      try {
        writeSmallEntry(fd, staging, jobs[i]!, scratch);
      } catch (cause) {
        throw new SmallEntryError(i, cause);
      }
      await nextTurn();
    }
  } finally {
    closeSync(fd);
  }
}
