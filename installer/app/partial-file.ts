import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OTHERS_WRITE } from '../../common/archive-write.js';
import { fileSystemFailure, isFileSystemError } from '../../common/file-system-error.js';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import { integrityOfHash } from '../../common/integrity.js';
import { streamed } from '../../common/streaming-memory.js';

/**
 * The bytes of one artifact downloaded so far: `<dest>.partial`, the sha512 of every byte in it,
 * and its sidecar `<dest>.partial.json` (url, ETag, Last-Modified, the pinned size and hash), which
 * lets a later run resume with Range + If-Range. A partial for another size or hash is discarded.
 */
export interface Sidecar {
  url: string;
  etag?: string;
  lastModified?: string;
  size: number;
  integrity: string;
}

export const partialPath = (dest: string) => `${dest}.partial`;
export const sidecarPath = (dest: string) => `${dest}.partial.json`;
/** The sidecar's temp sibling (common/fs-atomic.ts tempSibling), left by a run killed between its write and rename. */
export const isSidecarTempName = (name: string) => /^\..+\.partial\.json\.tmp-/.test(name);
/** A file name the two above give, or a sidecar's temp sibling: what `remove` may delete. */
export const isDownloadFileName = (name: string) => /\.partial(\.json)?$/.test(name) || isSidecarTempName(name);

export async function discardPartial(dest: string): Promise<void> {
  await rm(partialPath(dest), { force: true });
  await rm(sidecarPath(dest), { force: true });
}

/**
 * Every download file in `dest`'s folder but `dest`'s own: another name's partial (the Intel Mac's on a Mac moved to Apple
 * silicon, a release that renamed its file) is of an artifact this release does not pin, and had stayed there for good.
 */
export async function discardOtherDownloads(dest: string): Promise<void> {
  const own = new Set([partialPath(basename(dest)), sidecarPath(basename(dest))]);
  const dir = dirname(dest);
  for (const name of await readdir(dir)) if (isDownloadFileName(name) && !own.has(name)) await rm(join(dir, name), { force: true });
}

const optionalText = (value: unknown) => value === undefined || typeof value === 'string';

/** The sidecar beside `dest`, or undefined when there is none or it is not one ao-app wrote (JSON of another shape: an ETag that is no string went into If-Range as it was). */
async function readSidecar(dest: string): Promise<Sidecar | undefined> {
  const data = JSON.parse(await readFile(sidecarPath(dest), 'utf8')) as Partial<Record<keyof Sidecar, unknown>> | null;
  if (typeof data?.url !== 'string' || typeof data.size !== 'number' || typeof data.integrity !== 'string') return undefined;
  return optionalText(data.etag) && optionalText(data.lastModified) ? (data as Sidecar) : undefined;
}

/**
 * Size of a resumable partial for exactly this artifact, 0 when there is none. One the group or others may write (made
 * under a umask of 000 by an older ao-app) is none: its bytes, hashed now, could be changed before they are unpacked.
 */
export async function usablePartialSize(dest: string, size: number, integrity: string): Promise<number> {
  try {
    const sidecar = await readSidecar(dest);
    if (sidecar?.size !== size || sidecar.integrity !== integrity) return 0;
    const info = await stat(partialPath(dest));
    if (process.platform !== 'win32' && (info.mode & OTHERS_WRITE) !== 0) return 0;
    return info.size <= size ? info.size : 0;
  } catch {
    return 0;
  }
}

/** `chunks` split after their first `n` bytes (a short writev). */
function splitAt(chunks: Buffer[], n: number): [Buffer[], Buffer[]] {
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  for (const chunk of chunks) {
    if (n >= chunk.length) head.push(chunk);
    else if (n > 0) {
      head.push(chunk.subarray(0, n));
      tail.push(chunk.subarray(n));
    } else tail.push(chunk);
    n = Math.max(0, n - chunk.length);
  }
  return [head, tail];
}

export class PartialFile {
  /** Bytes on disk, all hashed. */
  offset: number;
  /** Bytes received over the network by this run. */
  fetched = 0;
  /** Bytes from an earlier run that this run kept: 0 once they are thrown away. */
  resumedFrom: number;
  /** The URLs the bytes on disk came from (an earlier run's too), to blame when they fail the pinned hash. */
  readonly sources = new Set<string>();

  private constructor(
    readonly dest: string,
    readonly size: number,
    readonly integrity: string,
    offset: number,
    public sidecar: Sidecar | undefined,
    private hash: Hash,
    // Opened on the first usable answer: a 404 or a redirect loop leaves no empty partial behind.
    private file: FileHandle | undefined,
  ) {
    this.offset = offset;
    this.resumedFrom = offset;
    if (offset > 0 && sidecar) this.sources.add(sidecar.url);
  }

  /** Picks up what an earlier run left for this very artifact (re-hashed, so the digest covers every byte on disk), or starts empty. */
  static async open(dest: string, size: number, integrity: string): Promise<PartialFile> {
    // A partial another name shares is the installed AppImage (linked there by a run killed before it deleted its
    // download): never written to, or a restart's truncate would empty the installed app.
    const shared = await stat(partialPath(dest)).then(
      (info) => info.nlink > 1,
      () => false,
    );
    const offset = shared ? 0 : await usablePartialSize(dest, size, integrity);
    let sidecar: Sidecar | undefined;
    if (offset > 0) sidecar = await readSidecar(dest);
    else await discardPartial(dest);
    const hash = createHash('sha512');
    if (offset > 0) {
      for await (const chunk of createReadStream(partialPath(dest), { end: offset - 1, highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        streamed((chunk as Buffer).length);
      }
    }
    return new PartialFile(dest, size, integrity, offset, sidecar, hash, offset > 0 ? await open(partialPath(dest), 'r+') : undefined);
  }

  /** Throws the bytes away and starts from zero (the server would not resume, or sent another range). */
  async restart(): Promise<void> {
    await this.file?.truncate(0);
    this.offset = 0;
    this.resumedFrom = 0;
    this.hash = createHash('sha512');
    this.sources.clear();
  }

  /** A usable answer from `url`: the partial exists from here on, and the sidecar names where its bytes come from. */
  async begin(url: string, etag: string | undefined, lastModified: string | undefined): Promise<void> {
    try {
      // Owner-only whatever the umask: the bytes are checked by the hash computed as they are written, then unpacked (an
      // AppImage linked in as the app) from this file, which another user able to write it could change in between.
      this.file ??= await open(partialPath(this.dest), 'w', 0o600);
      this.sources.add(url);
      this.sidecar = { url, etag, lastModified, size: this.size, integrity: this.integrity };
      // Owner-only: the URL may carry a mirror's credentials (user:token@, ?token=), and the sidecar outlives a failed run.
      // Not flushed (the download waited on it): one a power cut emptied means no partial, downloaded again.
      await writeJsonAtomic(sidecarPath(this.dest), this.sidecar, 0o600, { durable: false });
    } catch (err) {
      // A full disk here is no network failure: retrying the request cannot cure it.
      throw this.diskFailure(err);
    }
  }

  /** A file-system error as the UserError that ends the install with its own fix; anything else as it is. */
  private diskFailure(err: unknown): unknown {
    if (!isFileSystemError(err)) return err;
    return fileSystemFailure(err, {
      what: `cannot write the desktop app download to ${partialPath(this.dest)}`,
      where: partialPath(this.dest),
      kept: this.offset > 0 ? 'the bytes already downloaded are kept' : undefined,
      again: `then run ao-app install again${this.offset > 0 ? ': it resumes' : ''}`,
    });
  }

  /**
   * Appends what fits under the pinned size, in one write where the disk takes it all; returns how
   * many bytes were taken. Bytes a short write did put on disk are counted and hashed before a
   * following error ends the install (a disk error is final: UserError), so the next run resumes after them.
   */
  async write(chunks: Buffer[]): Promise<number> {
    let [pending] = splitAt(chunks, this.size - this.offset);
    let taken = 0;
    try {
      while (pending.length > 0) {
        // The bytes are hashed while libuv's pool writes them; a short write or an error puts the hash back
        // to where it was and hashes only what reached the disk.
        const before = this.hash.copy();
        const writing = this.file!.writev(pending, this.offset);
        for (const part of pending) this.hash.update(part);
        const { bytesWritten } = await writing.catch((err: unknown) => {
          this.hash = before;
          throw err;
        });
        const [written, rest] = splitAt(pending, bytesWritten);
        if (rest.length > 0) {
          this.hash = before;
          for (const part of written) this.hash.update(part);
        }
        this.offset += bytesWritten;
        this.fetched += bytesWritten;
        taken += bytesWritten;
        streamed(bytesWritten);
        pending = rest;
      }
    } catch (err) {
      // No retry cures a file-system error (a full disk, EFBIG, EMFILE...): it ends the install with its own fix.
      throw this.diskFailure(err);
    }
    return taken;
  }

  /** Closes the file; an empty partial leaves nothing behind. */
  async close(): Promise<void> {
    await this.file?.close();
    if (this.offset === 0) await discardPartial(this.dest);
  }

  /** The SRI string of every byte written (finishes the hash). */
  digest(): string {
    return integrityOfHash(this.hash);
  }
}
