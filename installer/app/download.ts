import { createHash, type Hash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { UserError } from '../../common/errors.js';
import { integrityOfHash } from '../../common/integrity.js';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import type { Progress } from '../../common/progress.js';
import { streamed } from '../../common/streaming-memory.js';

/**
 * A download that survives anything short of a changed file: streamed to
 * `<dest>.partial` with sha512 computed on the way, resumed across process
 * restarts from a sidecar (`<dest>.partial.json`: url, ETag, Last-Modified,
 * expected size and hash) with Range + If-Range, retried with backoff and
 * jitter (honouring Retry-After), rotated through mirrors, cut when idle.
 * The caller gets bytes whose size and sha512 match, or a UserError.
 */
export interface DownloadOptions {
  urls: string[];
  /** The final file; the partial and its sidecar live next to it. */
  dest: string;
  size: number;
  integrity: string;
  progress?: Progress;
  /** Failed attempts in a row (without new bytes) before giving up. */
  retries?: number;
  /** No byte for this long and the attempt is cut. */
  stallTimeoutMs?: number;
  maxRedirects?: number;
  backoffBaseMs?: number;
  /** Longest Retry-After honoured; longer waits fail the attempt instead. */
  maxRetryAfterMs?: number;
  /** The whole download gives up after this long, whatever happens (AO_APP_DEADLINE_MS). */
  deadlineMs?: number;
  /** Requests in all, across mirrors and retries, before giving up. */
  maxAttempts?: number;
  dispatcher?: Dispatcher;
}

export interface DownloadResult {
  /** Bytes found in a partial from an earlier run and kept. */
  resumedFrom: number;
  /** Bytes received over the network by this run. */
  fetched: number;
  url: string;
}

interface Sidecar {
  url: string;
  etag?: string;
  lastModified?: string;
  size: number;
  integrity: string;
}

export const partialPath = (dest: string) => `${dest}.partial`;
export const sidecarPath = (dest: string) => `${dest}.partial.json`;

/** The proxy-aware dispatcher: HTTP(S)_PROXY/NO_PROXY, or npm's proxy config when npm runs us. */
export function defaultDispatcher(): Dispatcher {
  const env = process.env;
  const npmProxy = env.npm_config_https_proxy || env.npm_config_proxy;
  const anyProxy = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy || npmProxy;
  if (!anyProxy) return new Agent({ connections: 4 });
  return new EnvHttpProxyAgent({
    httpProxy: env.HTTP_PROXY || env.http_proxy || env.npm_config_proxy || undefined,
    httpsProxy: env.HTTPS_PROXY || env.https_proxy || npmProxy || undefined,
    noProxy: env.NO_PROXY || env.no_proxy || env.npm_config_noproxy || undefined,
  });
}

export async function discardPartial(dest: string): Promise<void> {
  await rm(partialPath(dest), { force: true });
  await rm(sidecarPath(dest), { force: true });
}

/** Size of a resumable partial for exactly this artifact, 0 when there is none. */
export async function usablePartialSize(dest: string, size: number, integrity: string): Promise<number> {
  try {
    const sidecar = JSON.parse(await readFile(sidecarPath(dest), 'utf8')) as Sidecar;
    if (sidecar.size !== size || sidecar.integrity !== integrity) return 0;
    const have = (await stat(partialPath(dest))).size;
    return have <= size ? have : 0;
  } catch {
    return 0;
  }
}

class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** This URL will not work however often it is asked (404, a redirect loop, another file): drop it from the rotation. */
class DeadUrlError extends RetryableError {}

/** Errors writing the partial that no retry can cure. */
const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

function diskError(dest: string, err: NodeJS.ErrnoException): UserError {
  const full = err.code === 'ENOSPC' || err.code === 'EDQUOT';
  return new UserError({
    what: `cannot write the desktop app download to ${partialPath(dest)}`,
    why: full ? 'the disk is full (the bytes already downloaded are kept)' : `${err.code}: ${err.message}`,
    fix: full ? 'free some space there (or set AO_APP_DIR to a folder on a larger disk), then run ao-app install again: it resumes' : 'make that folder writable, or set AO_APP_DIR to a writable folder, then run ao-app install again',
    code: full ? 'ENOSPC' : 'EAPPDISK',
    cause: err,
  });
}

/** The total size a Content-Range or 416 answer gives, if any. */
function rangeTotal(value: string | undefined): number | undefined {
  const m = /\/(\d+)\s*$/.exec(value ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Drops a body we will not read (undici reports a destroyed body as an 'error': nobody must be left to hear it). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function proxyInUse(): string | undefined {
  const env = process.env;
  return env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy || env.npm_config_https_proxy || env.npm_config_proxy || undefined;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const { dest, size, integrity } = options;
  // The same URL twice is one place to fail at, not two.
  const urls = [...new Set(options.urls)];
  const retries = options.retries ?? 6;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const backoffBaseMs = options.backoffBaseMs ?? 500;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  const deadline = Date.now() + (options.deadlineMs ?? 2 * 60 * 60_000);
  const maxAttempts = options.maxAttempts ?? 40;
  const ownDispatcher = options.dispatcher === undefined;
  let dispatcher = options.dispatcher ?? defaultDispatcher();
  const partial = partialPath(dest);

  let sidecar: Sidecar | undefined;
  let offset = await usablePartialSize(dest, size, integrity);
  if (offset > 0) sidecar = JSON.parse(await readFile(sidecarPath(dest), 'utf8')) as Sidecar;
  else await discardPartial(dest);
  const resumedFrom = offset;

  // Re-hash what an earlier run left, so the final digest covers every byte on disk.
  let hash: Hash = createHash('sha512');
  if (offset > 0) {
    for await (const chunk of createReadStream(partial, { end: offset - 1, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      streamed((chunk as Buffer).length);
    }
  }
  options.progress?.start(size, offset);

  // Opened on the first usable answer: a 404 or a redirect loop leaves no empty partial behind.
  let file: FileHandle | undefined = offset > 0 ? await open(partial, 'r+') : undefined;
  let fetched = 0;
  let failures = 0;
  let attempts = 0;
  let mirror = 0;
  // Progress counts only past the furthest point ever reached: re-fetching the same bytes forever is not progress.
  let furthest = offset;
  const dead = new Set<string>();
  let lastError = '';
  let gaveUp = '';
  const restart = async () => {
    await file?.truncate(0);
    offset = 0;
    hash = createHash('sha512');
    options.progress?.start(size, 0);
  };

  try {
    while (offset < size) {
      if (++attempts > maxAttempts) {
        gaveUp = `${maxAttempts} requests in all`;
        break;
      }
      if (Date.now() > deadline) {
        gaveUp = 'the overall deadline (AO_APP_DEADLINE_MS)';
        break;
      }
      while (dead.has(urls[mirror % urls.length])) mirror++;
      const url = urls[mirror % urls.length];
      const furthestBefore = furthest;
      const attempt = new AbortController();
      const stopWatching = abortOnRepeatedConnectErrors(url, attempt);
      const attemptTimer = setTimeout(() => attempt.abort(new RetryableError(`${url} did not answer within ${stallTimeoutMs} ms`)), Math.min(stallTimeoutMs, Math.max(0, deadline - Date.now())));
      try {
        const res = await follow(url, maxRedirects, dispatcher, stallTimeoutMs, offset, sidecar, attempt.signal).finally(stopWatching);
        clearTimeout(attemptTimer);
        // A body error must reach the read below, never crash the process as an unhandled 'error' event.
        res.body.on('error', () => undefined);
        const status = res.statusCode;
        if (status === 429 || status === 503 || status >= 500) {
          discard(res.body);
          throw new RetryableError(`${url} answered ${status}`, parseRetryAfter(res.headers['retry-after']));
        }
        if (status === 416 && offset > 0) {
          discard(res.body);
          const total = rangeTotal(header(res.headers, 'content-range'));
          if (total !== undefined && total !== size) throw new DeadUrlError(`${url} holds ${total} bytes, but the release pins ${size}`);
          await restart();
          throw new RetryableError(`${url} refused the resume range`);
        }
        if (status !== 200 && status !== 206) {
          discard(res.body);
          const permanent = status >= 400 && status < 500 && status !== 408;
          throw permanent ? new DeadUrlError(`${url} answered ${status}`) : new RetryableError(`${url} answered ${status}`);
        }
        if (status === 206) {
          const m = /^bytes (\d+)-/.exec(header(res.headers, 'content-range') ?? '');
          const total = rangeTotal(header(res.headers, 'content-range'));
          if (total !== undefined && total !== size) {
            discard(res.body);
            throw new DeadUrlError(`${url} holds ${total} bytes, but the release pins ${size}`);
          }
          if (!m || Number(m[1]) !== offset) {
            discard(res.body);
            await restart();
            throw new RetryableError(`${url} sent a range that does not start at ${offset}`);
          }
        } else {
          // A 200 where a range was asked (ignored Range, or If-Range saw a new ETag): start over.
          if (offset > 0) await restart();
        }
        file ??= await open(partial, 'w');
        sidecar = { url, etag: header(res.headers, 'etag'), lastModified: header(res.headers, 'last-modified'), size, integrity };
        await writeJsonAtomic(sidecarPath(dest), sidecar);
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          const take = Math.min(buf.length, size - offset);
          try {
            await file.write(buf, 0, take, offset);
          } catch (err) {
            discard(res.body);
            throw DISK_ERRORS.has((err as NodeJS.ErrnoException).code ?? '') ? diskError(dest, err as NodeJS.ErrnoException) : err;
          }
          hash.update(take === buf.length ? buf : buf.subarray(0, take));
          offset += take;
          fetched += take;
          streamed(take);
          options.progress?.advance(take);
          if (offset >= size) {
            // More bytes than the manifest pins: whatever this is, it is not the artifact.
            discard(res.body);
            break;
          }
        }
        if (offset < size) throw new RetryableError(`${url} ended the body early at ${offset} of ${size} bytes`);
      } catch (err) {
        stopWatching();
        clearTimeout(attemptTimer);
        if (err instanceof UserError) throw err;
        const aborted = attempt.signal.aborted && attempt.signal.reason instanceof RetryableError ? attempt.signal.reason : undefined;
        if (aborted && ownDispatcher) {
          // undici keeps re-dialling a proxy that drops CONNECT (nodejs/undici#3897, fixed only in undici 8,
          // which needs Node 22): an abort does not reach a request still queued, closing the agent does.
          void dispatcher.destroy().catch(() => undefined);
          dispatcher = defaultDispatcher();
        }
        const e = aborted ?? err;
        lastError = e instanceof RetryableError ? e.message : `${url}: ${(e as Error).message}`;
        furthest = Math.max(furthest, offset);
        failures = furthest > furthestBefore ? 1 : failures + 1;
        if (e instanceof DeadUrlError) dead.add(url);
        if (dead.size === urls.length) break;
        if (failures > retries) {
          gaveUp = `${failures} attempts in a row without progress`;
          break;
        }
        mirror++;
        const retryAfter = e instanceof RetryableError ? e.retryAfterMs : undefined;
        if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) {
          if (urls.length === 1) break;
          continue;
        }
        const backoff = Math.min(30_000, backoffBaseMs * 2 ** (failures - 1)) * (0.5 + Math.random());
        await sleep(Math.max(0, Math.min(Math.max(retryAfter ?? 0, backoff), deadline - Date.now())));
      }
    }
    await file?.sync();
  } finally {
    await file?.close();
    if (offset === 0) await discardPartial(dest);
    // Our own agent: close it so no reconnect loop (a proxy refusing CONNECT) outlives the download.
    if (ownDispatcher) await dispatcher.destroy().catch(() => undefined);
  }

  if (offset < size) {
    options.progress?.fail(lastError);
    const kept = offset > 0 ? `${offset} of ${size} bytes kept for the next run` : 'nothing was kept';
    if (dead.size === urls.length) {
      throw new UserError({
        what: `cannot download the desktop app ${urls[0]}`,
        why: `${lastError}${urls.length > 1 ? ` (and every mirror failed the same way)` : ''}; ${kept}`,
        fix: "the release's download host does not serve this file as pinned: report it to the ao maintainers, or set AO_APP_BASE_URL to a mirror that has it",
        code: 'EAPPDOWNLOAD',
      });
    }
    const proxy = proxyInUse();
    throw new UserError({
      what: `cannot download the desktop app ${urls[0]}`,
      why: `${lastError} (gave up after ${gaveUp || `${failures} attempts in a row without progress`}; ${kept})`,
      fix: proxy ? `check the proxy ${proxy} (HTTPS_PROXY/HTTP_PROXY, NO_PROXY), then run ao-app install again: it resumes` : 'check the network connection, then run ao-app install again: it resumes',
      code: 'EAPPDOWNLOAD',
    });
  }
  const got = integrityOfHash(hash);
  if (got !== integrity) {
    await discardPartial(dest);
    options.progress?.fail('checksum mismatch');
    throw new UserError({
      what: `the downloaded desktop app failed verification`,
      why: `its sha512 is ${got}, the manifest pins ${integrity}; the bytes were discarded and nothing was installed`,
      fix: 'run the same command again; if it keeps failing, the download host or a proxy is serving the wrong file',
      code: 'EINTEGRITY',
    });
  }
  return { resumedFrom, fetched, url: sidecar?.url ?? options.urls[0] };
}

/**
 * undici re-dials on its own when a connection fails before the request is sent (a proxy that drops
 * CONNECT: nodejs/undici#3897), without ever failing the request. A few such failures in one
 * attempt end the attempt, so our own retry budget decides.
 */
function abortOnRepeatedConnectErrors(url: string, attempt: AbortController, limit = 3): () => void {
  const host = new URL(url).hostname;
  let seen = 0;
  const channel = diagnostics.channel('undici:client:connectError');
  const onError = (message: unknown) => {
    const { error, connectParams } = message as { error?: Error; connectParams?: { hostname?: string; host?: string } };
    if (connectParams?.hostname !== host && !connectParams?.host?.startsWith(host)) return;
    if (++seen < limit || attempt.signal.aborted) return;
    const proxy = proxyInUse();
    attempt.abort(new RetryableError(`cannot connect to ${host}${proxy ? ` through the proxy ${proxy}` : ''} (${error?.message ?? 'connection failed'}, ${seen} times)`));
  };
  channel.subscribe(onError);
  return () => channel.unsubscribe(onError);
}

/** The request, or the abort's reason as soon as the signal fires (undici may not settle a request it has not sent yet). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) (value as { body?: Dispatcher.ResponseData['body'] }).body?.on('error', () => undefined).destroy();
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** One GET with Range/If-Range, following redirects by hand so chains are capped and loops caught. */
async function follow(start: string, maxRedirects: number, dispatcher: Dispatcher, stallTimeoutMs: number, offset: number, sidecar: Sidecar | undefined, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  const seen = new Set<string>();
  let url = start;
  for (let hops = 0; ; hops++) {
    const headers: Record<string, string> = { 'user-agent': 'ao-app-fetcher', 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // If-Range only against the URL the partial came from: another mirror's validators differ.
      const validator = sidecar?.url === start ? (sidecar.etag ?? sidecar.lastModified) : undefined;
      if (validator) headers['if-range'] = validator;
    }
    const res = await untilAborted(request(url, { dispatcher, headers, signal, headersTimeout: stallTimeoutMs, bodyTimeout: stallTimeoutMs }), signal);
    if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304) return res;
    discard(res.body);
    const location = header(res.headers, 'location');
    if (!location) throw new RetryableError(`${url} redirected without a Location`);
    seen.add(url);
    url = new URL(location, url).toString();
    if (seen.has(url)) throw new DeadUrlError(`${start} redirects in a loop (back to ${url})`);
    if (hops + 1 >= maxRedirects) throw new DeadUrlError(`${start} redirected more than ${maxRedirects} times`);
  }
}
