import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import type { PlannedEntry } from '../../common/archive-plan.js';
import { linkZipEntries, planZipFromTail, unpackZip, type ZipPlanned } from '../../common/zip-extract.js';
import { defaultDispatcher, fetchRange } from './download.js';

/**
 * A zip unpacked into the staging folder while it downloads, instead of after: the central
 * directory sits at the zip's end, so once the download has begun it is fetched on its own with
 * one Range request, the whole entry list is checked (archive-plan.ts), and each entry is unpacked
 * from the `.partial` as soon as its bytes are on disk (common/zip-extract.ts `unpackZip`).
 *
 * Nothing here is trusted before the download is verified: the caller commits nothing until the whole
 * file's size and sha512 match the pin, and only then asks `finish()`, which keeps the staging folder
 * only if the central directory unpacked from is byte for byte the verified file's own and the partial
 * never started over meanwhile (its entries were read from the bytes that were verified). Symlinks
 * (their targets are entry data) are read from the verified file, checked with the whole plan, and made
 * last. Anything else (no Range support, a failed entry, a restart, a mismatch) gives `undefined` with
 * the staging folder removed, and the caller unpacks the verified file as before.
 */
/** The end-of-central-directory record and its longest comment fit in this; the central directory itself is fetched next, exactly. */
const TAIL_BYTES = 64 << 10;
/** A central directory larger than this (~60,000 entries) is not worth fetching twice. */
const MAX_CENTRAL_DIRECTORY = 16 << 20;
const EOCD_SIGNATURE = 0x06054b50;

interface Unpacked {
  plan: ZipPlanned[];
  /** Where the fetched tail starts in the archive, and the sha512 of the bytes from there to the end. */
  tailStart: number;
  tailDigest: string;
}

export interface UnpackWhileDownloadingOptions {
  /** The `.partial` the download writes. */
  partial: string;
  size: number;
  staging: string;
  cap: number;
  /** A scratch file next to the partial (the tail is parsed from it, then it is removed). */
  scratch: string;
  dispatcher?: Dispatcher;
  stallTimeoutMs: number;
}

/** Where the central directory starts, from the end-of-central-directory record in `tail` (the archive's last bytes); undefined for a zip64 or no record. */
export function centralDirectoryStart(tail: Buffer, tailStart: number): number | undefined {
  for (let at = tail.length - 22; at >= 0 && at >= tail.length - 22 - 0xffff; at--) {
    if (tail.readUInt32LE(at) !== EOCD_SIGNATURE || at + 22 + tail.readUInt16LE(at + 20) !== tail.length) continue;
    const start = tail.readUInt32LE(at + 16);
    const length = tail.readUInt32LE(at + 12);
    if (start === 0xffffffff || start + length > tailStart + at) return undefined;
    return start;
  }
  return undefined;
}

export class UnpackWhileDownloading {
  private offset = 0;
  private waiters: Array<{ end: number; resolve: () => void; reject: (err: Error) => void }> = [];
  private stopped: Error | undefined;
  private work: Promise<Unpacked | undefined> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: UnpackWhileDownloadingOptions) {}

  /** The download's partial now holds `offset` bytes from `url`; the first call starts the work. */
  readonly written = (offset: number, url: string): void => {
    this.offset = offset;
    this.work ??= this.run(url);
    if (this.waiters.length === 0) return;
    const still = this.waiters.filter((w) => w.end > offset);
    for (const w of this.waiters) if (w.end <= offset) w.resolve();
    this.waiters = still;
  };

  /** The partial's bytes were thrown away: whatever was unpacked from them is worthless. */
  readonly restarted = (): void => this.stop(new Error('the download started over'));

  /** Settles once the partial holds its first `end` bytes. */
  private readonly until = (end: number): Promise<void> => {
    if (this.stopped) return Promise.reject(this.stopped);
    if (end <= this.offset) return Promise.resolve();
    if (end > this.options.size) return Promise.reject(new Error('an entry reaches past the end of the archive'));
    return new Promise((resolve, reject) => this.waiters.push({ end, resolve, reject }));
  };

  private stop(reason: Error): void {
    this.stopped ??= reason;
    this.abort.abort(reason);
    for (const w of this.waiters) w.reject(reason);
    this.waiters = [];
  }

  /** Bytes of files completely unpacked so far (0 once stopped or failed: the staging folder will go). */
  unpackedBytes(): number {
    if (this.stopped || !this.plan) return 0;
    let sum = 0;
    for (const e of this.plan) if (e.type === 'file' && e.integrity) sum += e.size;
    return sum;
  }

  private plan: ZipPlanned[] | undefined;

  private async run(url: string): Promise<Unpacked | undefined> {
    try {
      const tail = await this.fetchTail(url);
      if (!tail) return undefined;
      const { staging, partial, cap } = this.options;
      this.plan = tail.plan;
      await unpackZip(partial, staging, tail.plan, cap, { until: this.until, dataEnd: tail.dataEnd });
      return { plan: tail.plan, tailStart: tail.tailStart, tailDigest: tail.tailDigest };
    } catch (err) {
      this.stop(err as Error);
      return undefined;
    }
  }

  /** The central directory (one Range request for the archive's last bytes, a second one if it starts before them), parsed and checked. */
  private async fetchTail(url: string): Promise<(Unpacked & { dataEnd: number }) | undefined> {
    const { size, stallTimeoutMs, scratch, cap } = this.options;
    const dispatcher = this.options.dispatcher ?? defaultDispatcher();
    try {
      const get = (start: number) => fetchRange(url, { start, end: size - 1, size }, { dispatcher, stallTimeoutMs, signal: this.abort.signal });
      let tailStart = Math.max(0, size - TAIL_BYTES);
      let tail = await get(tailStart);
      if (!tail) return undefined;
      const dataEnd = centralDirectoryStart(tail, tailStart);
      if (dataEnd === undefined || size - dataEnd > MAX_CENTRAL_DIRECTORY) return undefined;
      if (dataEnd < tailStart) {
        tailStart = dataEnd;
        tail = await get(tailStart);
        if (!tail) return undefined;
      }
      const tailDigest = createHash('sha512').update(tail).digest('base64');
      // node-stream-zip reads a file: a sparse one of the archive's size, holding only its end.
      const fh = await open(scratch, 'w');
      try {
        await fh.write(tail, 0, tail.length, tailStart);
      } finally {
        await fh.close();
      }
      tail = undefined;
      try {
        return { plan: await planZipFromTail(scratch, cap), tailStart, tailDigest, dataEnd };
      } finally {
        await rm(scratch, { force: true });
      }
    } finally {
      if (!this.options.dispatcher) void dispatcher.destroy().catch(() => undefined);
    }
  }

  /** The download failed: stop, wait for the unpacker to settle, remove what it wrote. */
  async cancel(): Promise<void> {
    this.stop(new Error('cancelled'));
    await this.work;
    await rm(this.options.staging, { recursive: true, force: true });
    await rm(this.options.scratch, { force: true });
  }

  /** After the download is verified: the unpacked entries (symlinks made), or undefined with the staging folder removed. */
  async finish(): Promise<PlannedEntry[] | undefined> {
    // The central directory has not even arrived: unpacking the verified file now is as fast.
    if (!this.plan) this.stop(new Error('the download finished first'));
    const unpacked = await this.work;
    try {
      if (unpacked && !this.stopped && (await digestFrom(this.options.partial, unpacked.tailStart)) === unpacked.tailDigest) {
        return await linkZipEntries(this.options.partial, this.options.staging, unpacked.plan, this.options.cap);
      }
    } catch {
      // The verified file is unpacked again from the start, which reports whatever this was.
    }
    await this.cancel();
    return undefined;
  }
}

async function digestFrom(file: string, start: number): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file, { start })) hash.update(chunk as Buffer);
  return hash.digest('base64');
}
