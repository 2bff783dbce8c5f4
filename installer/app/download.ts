import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { UserError } from '../../common/errors.js';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import type { Progress } from '../../common/progress.js';
import { streamed } from './memory.js';

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

/** This URL will not work however often it is asked (404, a redirect loop): drop it from the rotation. */
class DeadUrlError extends RetryableError {}

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
  const retries = options.retries ?? 6;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const backoffBaseMs = options.backoffBaseMs ?? 500;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  const dispatcher = options.dispatcher ?? defaultDispatcher();
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

  const file = await open(partial, offset > 0 ? 'r+' : 'w');
  let fetched = 0;
  let failures = 0;
  let mirror = 0;
  const dead = new Set<string>();
  let lastError = '';
  const restart = async () => {
    await file.truncate(0);
    offset = 0;
    hash = createHash('sha512');
    options.progress?.start(size, 0);
  };

  try {
    while (offset < size) {
      while (dead.has(options.urls[mirror % options.urls.length])) mirror++;
      const url = options.urls[mirror % options.urls.length];
      const gainedBefore = offset;
      try {
        const res = await follow(url, maxRedirects, dispatcher, stallTimeoutMs, offset, sidecar);
        const status = res.statusCode;
        if (status === 429 || status === 503 || status >= 500) {
          await res.body.dump().catch(() => undefined);
          throw new RetryableError(`${url} answered ${status}`, parseRetryAfter(res.headers['retry-after']));
        }
        if (status === 416 && offset > 0) {
          await res.body.dump().catch(() => undefined);
          await restart();
          throw new RetryableError(`${url} refused the resume range`);
        }
        if (status !== 200 && status !== 206) {
          await res.body.dump().catch(() => undefined);
          const permanent = status >= 400 && status < 500 && status !== 408;
          throw permanent ? new DeadUrlError(`${url} answered ${status}`) : new RetryableError(`${url} answered ${status}`);
        }
        if (status === 206) {
          const m = /^bytes (\d+)-/.exec(header(res.headers, 'content-range') ?? '');
          if (!m || Number(m[1]) !== offset) {
            await res.body.dump().catch(() => undefined);
            await restart();
            throw new RetryableError(`${url} sent a range that does not start at ${offset}`);
          }
        } else if (offset > 0) {
          // A 200 where a range was asked (ignored Range, or If-Range saw a new ETag): start over.
          await restart();
        }
        sidecar = { url, etag: header(res.headers, 'etag'), lastModified: header(res.headers, 'last-modified'), size, integrity };
        await writeJsonAtomic(sidecarPath(dest), sidecar);
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          if (offset + buf.length > size) {
            // More bytes than the manifest pins: whatever this is, it is not the artifact.
            await file.write(buf.subarray(0, size - offset), 0, size - offset, offset);
            hash.update(buf.subarray(0, size - offset));
            offset = size;
            res.body.destroy();
            break;
          }
          await file.write(buf, 0, buf.length, offset);
          hash.update(buf);
          offset += buf.length;
          fetched += buf.length;
          streamed(buf.length);
          options.progress?.advance(buf.length);
        }
        if (offset < size) throw new RetryableError(`${url} ended the body early at ${offset} of ${size} bytes`);
      } catch (err) {
        if (err instanceof UserError) throw err;
        lastError = err instanceof RetryableError ? err.message : `${url}: ${(err as Error).message}`;
        failures = offset > gainedBefore ? 1 : failures + 1;
        if (err instanceof DeadUrlError) dead.add(url);
        if (failures > retries || dead.size === options.urls.length) break;
        mirror++;
        const retryAfter = err instanceof RetryableError ? err.retryAfterMs : undefined;
        if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) {
          if (options.urls.length === 1) break;
          continue;
        }
        const backoff = Math.min(30_000, backoffBaseMs * 2 ** (failures - 1)) * (0.5 + Math.random());
        await sleep(Math.max(retryAfter ?? 0, backoff));
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }

  if (offset < size) {
    options.progress?.fail(lastError);
    throw new UserError({
      what: `cannot download ${options.urls[0]}`,
      why: `${lastError} (gave up after ${failures} attempts in a row without progress; ${offset} of ${size} bytes kept for the next run)`,
      fix: 'check the network or proxy (HTTPS_PROXY), then run the same command again: it resumes',
      code: 'EAPPDOWNLOAD',
    });
  }
  const got = `sha512-${hash.digest('base64')}`;
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

/** One GET with Range/If-Range, following redirects by hand so chains are capped and loops caught. */
async function follow(start: string, maxRedirects: number, dispatcher: Dispatcher, stallTimeoutMs: number, offset: number, sidecar: Sidecar | undefined): Promise<Dispatcher.ResponseData> {
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
    const res = await request(url, { dispatcher, headers, headersTimeout: stallTimeoutMs, bodyTimeout: stallTimeoutMs });
    if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304) return res;
    await res.body.dump().catch(() => undefined);
    const location = header(res.headers, 'location');
    if (!location) throw new RetryableError(`${url} redirected without a Location`);
    seen.add(url);
    url = new URL(location, url).toString();
    if (seen.has(url)) throw new DeadUrlError(`${start} redirects in a loop (back to ${url})`);
    if (hops + 1 >= maxRedirects) throw new DeadUrlError(`${start} redirected more than ${maxRedirects} times`);
  }
}
