import diagnostics from 'node:diagnostics_channel';
import { pipeline, type Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants, createBrotliDecompress, createGunzip, createInflate, gunzipSync } from 'node:zlib';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { UserError } from '../../common/errors.js';
import { setEnvFor } from '../../common/shell-quote.js';
import type { Progress } from '../../common/progress.js';
import {
  CertificateError,
  CredentialsError,
  DeadlineError,
  DeadUrlError,
  HostAnsweredError,
  humanWait,
  LoginPageError,
  MirrorPolicy,
  PlainHttpError,
  ProxyCredentialsError,
  ProxyRefusedError,
  RetryableError,
  StallError,
} from './mirror-policy.js';
import { discardPartial, PartialFile, type Sidecar } from './partial-file.js';
import { decodeLoosely, proxyAgentOptions, proxyInUse } from './proxy-route.js';

/**
 * A download that survives anything short of a changed file: streamed to
 * `<dest>.partial` with sha512 computed on the way, resumed across process
 * restarts from a sidecar (`<dest>.partial.json`: url, ETag, Last-Modified,
 * expected size and hash) with Range + If-Range, retried with backoff and
 * jitter (honouring Retry-After), rotated through mirrors, cut when idle.
 * The caller gets bytes whose size and sha512 match, or a UserError.
 * The parts: partial-file.ts (the bytes so far), mirror-policy.ts (which URL next, how long to
 * wait, when to give up), and here one attempt (`fetchOnce`) and the loop joining them.
 */
export interface DownloadOptions {
  urls: string[];
  /** The final file; the partial and its sidecar live next to it. */
  dest: string;
  size: number;
  integrity: string;
  progress?: Progress;
  /** Stops the download when it fires (the cutover's Ctrl-C): `EINTERRUPTED`, the bytes so far kept for the next run. */
  signal?: AbortSignal;
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
  /** Requests that brought under 256 KiB of new bytes, in all, across mirrors and retries, before giving up. */
  maxFruitlessRequests?: number;
  dispatcher?: Dispatcher;
  /** The URLs were made from AO_APP_BASE_URL, the user's own mirror: one that does not serve the file is theirs to mend. */
  fromBaseUrl?: boolean;
  /** The platform whose shell the printed fixes are for (this one's unless a test says otherwise). */
  platform?: string;
}

export interface DownloadResult {
  /** Bytes found in a partial from an earlier run and kept. */
  resumedFrom: number;
  /** Bytes received over the network by this run. */
  fetched: number;
  url: string;
}

/**
 * Bytes received before they are written to the partial in one call: a write per chunk (up to 64 KiB)
 * cost a trip through libuv's pool and a promise turn each. 256 and 512 KiB kept memory.test.ts's
 * peak RSS where it was (67-68 MB); 1 MiB raised it to 85-92 MB.
 */
const WRITE_BATCH = 256 << 10;

/** Fewer bytes than this in a stall window (AO_APP_STALL_MS) is a stall, too: a mirror that trickles is left for the next. */
const TRICKLE_BYTES = 1024;

/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How a web page begins (the common HTML patterns of WHATWG MIME sniffing, and the `<?xml` prolog an XHTML page, as
 * older hotspot gateways serve, starts with), which no app artifact (a zip, a gzip, an ELF or MZ executable) does: a
 * sign-in page sent without `Content-Type: text/html` is known by its first bytes. Tested on bytes read as latin1, where a
 * UTF-8 byte order mark (a page saved by a Windows editor) reads as "ï»¿".
 */
const HTML_START = /^(?:\xEF\xBB\xBF)?[\t\n\f\r ]*<(?:\?xml|!doctype\s+html|html|head|body|title|meta|script|!--)/i;

/** How every app artifact begins: a zip, a gzip (tar.gz), an ELF (AppImage) or MZ (exe) executable. */
const ARTIFACT_MAGIC = ['504b0304', '1f8b', '7f454c46', '4d5a'].map((hex) => Buffer.from(hex, 'hex'));
const GZIP_MAGIC = ARTIFACT_MAGIC[1]!;
const startsWith = (head: Buffer, magic: Buffer) => head.subarray(0, magic.length).equals(magic);
const startsLikeArtifact = (head: Buffer) => ARTIFACT_MAGIC.some((magic) => startsWith(head, magic));
/** A body's first 512 bytes (WHATWG sniffing's window) begin like a web page. */
const looksLikePage = (head: Buffer) => HTML_START.test(head.subarray(0, 512).toString('latin1'));
const isGzipLabel = (coding: string) => coding === 'gzip' || coding === 'x-gzip';

/** The Content-Types of a web page: HTML, or XHTML. */
const PAGE_TYPE = /^\s*(?:text\/html|application\/xhtml\+xml)\b/i;

const htmlPage = (url: string) => new LoginPageError(`${url} answered with an HTML page (a network's sign-in page or a proxy's error page), not the app`);

/** The first `n` bytes of `chunks`, copied only as far as needed. */
function firstBytes(chunks: Buffer[], n: number): Buffer {
  const head: Buffer[] = [];
  let length = 0;
  for (const chunk of chunks) {
    if (length >= n) break;
    head.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(head).subarray(0, n);
}

/**
 * The proxy-aware dispatcher: HTTP(S)_PROXY/NO_PROXY, or npm's proxy config when npm runs us. `urls`: the download's,
 * whose addresses a NO_PROXY range (10.0.0.0/8) keeps off the proxy.
 */
export function defaultDispatcher(urls: string[] = []): Dispatcher {
  const proxy = proxyAgentOptions(urls);
  return proxy ? new EnvHttpProxyAgent(proxy) : new Agent({ connections: 4 });
}

/** Content-Encodings a server may apply although ao-app asks for identity, and how to undo each. */
const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** OpenSSL's and Node's codes for a certificate that does not verify. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

type Cause = { code?: unknown; cause?: unknown; message?: string };

/** `err` and the causes under it, four deep at most (undici wraps a socket's error in one or two of its own). */
function* causes(err: unknown): Generator<Cause> {
  let e = err as Cause | undefined;
  for (let depth = 0; e && depth < 4; e = e.cause as Cause | undefined, depth++) yield e;
}

/** A failed attempt that was a certificate this machine does not trust, as a CertificateError; undefined for anything else. */
function untrustedCertificate(url: string, err: unknown): CertificateError | undefined {
  for (const e of causes(err)) {
    if (typeof e.code === 'string' && CERTIFICATE_CODES.has(e.code)) return new CertificateError(`${url}: ${e.message} (${e.code})`);
  }
  return undefined;
}

/** OpenSSL's answer when the other end speaks plain HTTP where TLS was expected. */
const PLAIN_HTTP_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/**
 * A failed attempt whose TLS handshake was answered in plain HTTP, as a PlainHttpError: most often a proxy set as
 * `https://` (`HTTPS_PROXY=https://proxy:3128`) that speaks plain HTTP, as most do. It had been retried seven times over
 * ~30 s, OpenSSL's "wrong version number" its only word, then "check the proxy".
 */
function plainHttpAnswer(url: string, asked: string, err: unknown, urls: string[]): PlainHttpError | undefined {
  for (const e of causes(err)) {
    if (typeof e.code !== 'string' || !PLAIN_HTTP_CODES.has(e.code)) continue;
    const proxy = proxyInUse(asked, urls);
    if (proxy?.startsWith('https:')) return new PlainHttpError(`the proxy ${proxy} answered in plain HTTP, not HTTPS (${e.code})`, proxy);
    const redirected = asked === url ? '' : ` (redirected to ${asked})`;
    return new PlainHttpError(`${url}${redirected}: the server answered in plain HTTP where HTTPS was asked (${e.code})`);
  }
  return undefined;
}

/**
 * A proxy that refused the tunnel for good (undici says only "Proxy response (407) !== 200 when HTTP Tunneling"): 407, it
 * wants credentials (ProxyCredentialsError); 403, its policy does not let this host through (ProxyRefusedError).
 */
function proxyRefusal(url: string, err: unknown, urls: string[]): DeadUrlError | undefined {
  for (const e of causes(err)) {
    const status = /^Proxy response \((\d+)\)/.exec(e.message ?? '')?.[1];
    if (status === '407') return new ProxyCredentialsError(`${url}: the proxy answered 407 (it asks for credentials)`);
    if (status === '403') return new ProxyRefusedError(`the proxy ${proxyInUse(url, urls) ?? ''} refused to connect to ${new URL(url).host} (403)`);
  }
  return undefined;
}

/** The total size a Content-Range or 416 answer gives, if any. */
function rangeTotal(value: string | undefined): number | undefined {
  const m = /\/(\d+)\s*$/.exec(value ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * A resume answered 200 whose Content-Range starts where the partial ends: a server or proxy that rewrites the status but
 * sends the range asked for. Those bytes are the rest, as a 206's; read as a whole file of another size, the URL had been
 * dropped, and every later run was answered the same way: a download once interrupted never finished from it.
 */
function rangeUnder200(status: number, contentRange: string | undefined, offset: number): boolean {
  return status === 200 && offset > 0 && rangeStart(contentRange) === offset;
}

/** Where a Content-Range's byte range starts and ends (inclusive); the unit is case-insensitive (RFC 9110 14.1). */
function byteRange(contentRange: string | undefined): { start: number; end: number } | undefined {
  const m = /^bytes (\d+)-(\d+)/i.exec(contentRange ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
}

function rangeStart(contentRange: string | undefined): number | undefined {
  return byteRange(contentRange)?.start;
}

/** A Content-Range that starts where the partial ends and gives the pinned size as the whole: the rest of this file. */
function continuesPartial(contentRange: string | undefined, offset: number, size: number): boolean {
  return offset > 0 && rangeStart(contentRange) === offset && rangeTotal(contentRange) === size;
}

/** Drops a body we will not read (undici reports a destroyed body as an 'error': nobody must be left to hear it). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Retry-After in ms: seconds, or an HTTP-date read against the answer's own Date header when it has one (RFC 9110),
 * so this machine's clock does not count: a laptop hours behind read "in 1 s" as hours and gave up.
 */
function parseRetryAfter(headers: Record<string, string | string[] | undefined>): number | undefined {
  const v = header(headers, 'retry-after');
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(v);
  const serverNow = Date.parse(header(headers, 'date') ?? '');
  return Number.isNaN(date) ? undefined : Math.max(0, date - (Number.isNaN(serverNow) ? Date.now() : serverNow));
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const { dest, size, integrity } = options;
  // A timer holds at most 2^31-1 ms (~24.8 days): Node fires a longer one after 1 ms, so "never give up" written as 30 days
  // (AO_APP_STALL_MS and AO_APP_DEADLINE_MS) had cut every attempt at once.
  const stallTimeoutMs = Math.min(options.stallTimeoutMs ?? 30_000, MAX_TIMER_MS);
  const deadlineMs = options.deadlineMs ?? 2 * 60 * 60_000;
  const part = await PartialFile.open(dest, size, integrity);
  const policy = new MirrorPolicy(
    // The same URL twice is one place to fail at, not two.
    [...new Set(options.urls)],
    {
      retries: options.retries ?? 6,
      maxFruitlessRequests: options.maxFruitlessRequests ?? 40,
      deadline: performance.now() + deadlineMs,
      backoffBaseMs: options.backoffBaseMs ?? 500,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
    },
    part.offset,
  );
  const ownDispatcher = options.dispatcher === undefined;
  let dispatcher = options.dispatcher ?? defaultDispatcher(options.urls);
  options.progress?.start(size, part.offset);
  // The bar is redrawn with no bytes coming too: through a stall it had stood at its last rate and ETA for the whole stall time.
  const tick = setInterval(() => options.progress?.advance(0), 1000);
  tick.unref();
  const restart = async () => {
    await part.restart();
    options.progress?.start(size, 0);
  };
  // From zero on purpose (the whole file failed its pin): what is fetched again is progress. Not for a server's 200 to a
  // Range (fetchOnce's restart): one that ignores Range answers so every time and must still run out of attempts.
  const startOver = async () => {
    await restart();
    policy.restarted();
  };

  const interrupted = () => {
    options.progress?.fail('interrupted');
    return new UserError({
      what: 'the desktop app download was interrupted',
      why: `${part.offset} of ${size} bytes are kept for the next run`,
      fix: 'run ao-app install: it resumes',
      code: 'EINTERRUPTED',
    });
  };

  // Set when a whole download failed its hash and no other mirror was left to try.
  let wrongDigest: string | undefined;
  // The whole files of another size than pinned that URLs announced: said when their bytes fail the pin.
  const otherSizes = new Map<string, number>();
  try {
    for (;;) {
      await fill(part, policy);
      if (part.offset < size) break;
      const got = part.digest();
      if (got === integrity) break;
      // Bytes kept from an earlier run may be the wrong ones (a power cut damaged the unflushed partial, or a server with no
      // ETag changed the file between runs): the whole file once more from the same URLs before any of them is blamed.
      if (part.resumedFrom > 0) {
        options.progress?.waiting('the bytes kept from an earlier run do not match the release; downloading the whole file again');
        await startOver();
        continue;
      }
      // The URLs these bytes came from serve another file of the pinned size: another mirror may serve the pinned one.
      for (const url of part.sources) policy.drop(url);
      if (policy.allDead) {
        wrongDigest = got;
        break;
      }
      await startOver();
    }
    // No fsync: it cost ~120 ms for 182 MB on this machine's ext4 and protects nothing. The bytes are
    // unpacked from the page cache, and a later run re-hashes whatever a crash left in the partial: the
    // pinned sha512 refuses one that lost bytes (it is discarded, and the next run downloads again).
  } finally {
    clearInterval(tick);
    await part.close();
    // Our own agent: close it so no reconnect loop (a proxy refusing CONNECT) outlives the download.
    if (ownDispatcher) await dispatcher.destroy().catch(() => undefined);
  }

  /** Attempts until the partial holds `size` bytes or the policy gives up. */
  async function fill(part: PartialFile, policy: MirrorPolicy): Promise<void> {
    while (part.offset < size) {
      if (options.signal?.aborted) throw interrupted();
      const url = policy.next();
      if (url === undefined) break;
      const attempt = new AbortController();
      const stopAttempt = () => attempt.abort(options.signal?.reason);
      options.signal?.addEventListener('abort', stopAttempt, { once: true });
      // The URL the attempt is asking now, after redirects: an http:// one redirected to https:// goes through another proxy.
      let asked = url;
      const stopWatching = abortOnRepeatedConnectErrors(() => asked, options.urls, attempt);
      const attemptTimer = setTimeout(() => attempt.abort(new StallError(`${url} did not answer within ${stallTimeoutMs} ms`)), stallTimeoutMs);
      // The overall deadline cuts an attempt whose body is still arriving, too (a server sending a byte a second never trips
      // the idle timeout), and one still waiting for its answer: said as the deadline, not as a host that did not answer.
      const deadlineTimer = setTimeout(
        () => attempt.abort(new DeadlineError(`${url} had not finished when the overall deadline passed`)),
        Math.min(policy.msLeft(), MAX_TIMER_MS),
      );
      const answered = () => {
        stopWatching();
        clearTimeout(attemptTimer);
      };
      try {
        await fetchOnce(url, part, {
          dispatcher,
          maxRedirects: options.maxRedirects ?? 5,
          stallTimeoutMs,
          signal: attempt.signal,
          answered,
          onHop: (hop) => {
            asked = hop;
          },
          restart,
          // The URL's latest word: one that later announced the pinned size no longer serves another file.
          announcedSize: (from, length) => (length === size ? otherSizes.delete(from) : otherSizes.set(from, length)),
          progress: options.progress,
        });
      } catch (err) {
        answered();
        if (options.signal?.aborted) throw interrupted();
        if (err instanceof UserError) throw err;
        const aborted = attempt.signal.aborted && attempt.signal.reason instanceof RetryableError ? attempt.signal.reason : undefined;
        if (aborted && ownDispatcher) {
          // undici keeps re-dialling a proxy that drops CONNECT (nodejs/undici#3897, fixed only in undici 8,
          // which needs Node 22): an abort does not reach a request still queued, closing the agent does.
          void dispatcher.destroy().catch(() => undefined);
          dispatcher = defaultDispatcher(options.urls);
        }
        const failure =
          aborted ?? untrustedCertificate(asked, err) ?? plainHttpAnswer(url, asked, err, options.urls) ?? proxyRefusal(asked, err, options.urls) ?? err;
        const wait = policy.failed(url, failure, part.offset, asked);
        if (wait === undefined) break;
        // A wait of seconds (backoff up to 30 s, Retry-After up to 2 minutes) is said, or it looks like a hang.
        if (wait >= 1000) options.progress?.waiting(`${policy.lastError}; trying again in ${humanWait(wait)}`);
        // An interrupt ends the wait too (the loop's first line then stops).
        if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
      } finally {
        clearTimeout(deadlineTimer);
        options.signal?.removeEventListener('abort', stopAttempt);
      }
    }
  }

  if (part.offset < size) {
    options.progress?.fail(policy.lastError);
    const kept = part.offset > 0 ? `${part.offset} of ${size} bytes kept for the next run` : 'nothing was kept';
    const urls = policy.urls;
    const proxy = proxyInUse(policy.lastFailedUrl ?? urls[0]!, options.urls);
    if (policy.allDead) {
      throw new UserError({
        what: `cannot download the desktop app ${urls[0]}`,
        why: `${policy.lastError}${urls.length > 1 ? ` (and every mirror failed the same way)` : ''}; ${kept}`,
        fix: deadUrlsFix(policy.lastFailure, proxy ?? '', options.fromBaseUrl === true),
        code: 'EAPPDOWNLOAD',
      });
    }
    const resumes = part.offset > 0 ? ': it resumes' : '';
    const again = `then run ao-app install again${resumes}`;
    // The setting that gives a slow link its time, as a line for this platform's shell (cmd.exe has no `NAME=value ...`),
    // and then the user's own command again: one written here would drop the --dir or --manifest they gave.
    const raise = (name: string, now: number, value: number) =>
      `raise ${name} (now ${now} ms) for the next run${resumes ? ', which resumes' : ''}: ${setEnvFor(options.platform ?? process.platform, name, String(value))}, then run the same ao-app command again`;
    // Silent for the whole stall time at the last attempt: maybe only slow (a proxy that fetches and scans the whole file
    // before it answers), which no retry with the same wait gets through.
    const patience = stalled(policy.lastFailure)
      ? `; if it is only slow (a proxy that scans the whole file before it answers), ${raise('AO_APP_STALL_MS', stallTimeoutMs, 600_000)}`
      : '';
    const check = proxy ? `check the proxy ${proxy} (HTTPS_PROXY/HTTP_PROXY, NO_PROXY)` : 'check the network connection';
    let fix = `${check}, ${again}${patience}`;
    // The overall deadline ended it: maybe a link that works, only too slowly for it (a hotel's Wi-Fi: 254 MB at 30 KB/s
    // takes over 2 hours). "Check the network connection" alone had never named the setting that gives such a link its time.
    if (policy.deadlinePassed) fix = `${check}; on a slow link, ${raise('AO_APP_DEADLINE_MS', deadlineMs, Math.max(4 * 60 * 60_000, 2 * deadlineMs))}`;
    if (policy.comeBackInMs !== undefined)
      fix = `the download host is busy and asked to come back in ${humanWait(policy.comeBackInMs)}: run ao-app install again after that${part.offset > 0 ? ' (it resumes)' : ''}`;
    // A host answered, the last time it was asked, with an outage or overload status: the connection reached it, whatever
    // another mirror's failure said after. "Check the network" sent the user after the wrong thing.
    else if (policy.hostAnswered) {
      const { url, failure } = policy.hostAnswered;
      const host = failure === policy.lastFailure ? 'the download host' : `the download host ${new URL(url).host}`;
      fix = `${host}${proxy ? ` (or the proxy ${proxy})` : ''} answered ${failure.status}, an outage or overload on its side: run ao-app install again later${part.offset > 0 ? ' (it resumes)' : ''}, or set AO_APP_BASE_URL to a mirror that has the file`;
    }
    // The URL was made from AO_APP_BASE_URL: a static host's fallback page (a single-page app's index.html for any path) or
    // a web page's address set there answers a page every time, and "sign in" alone never named the setting.
    const ownMirror = options.fromBaseUrl ? `; if this network needs no sign-in, the URL made from AO_APP_BASE_URL answers a web page: ${BASE_URL_REMEDY}` : '';
    // A sign-in page outweighs any other mirror's failure after it: a network holding back every host until the user signs in.
    if (policy.loginPage)
      fix = `sign in to this network in a web browser (a hotel or café network shows its sign-in page in place of any download)${proxy ? ` or check the proxy ${proxy}` : ''}, ${again}${ownMirror}`;
    throw new UserError({
      what: `cannot download the desktop app ${urls[0]}`,
      why: `${policy.lastError} (gave up after ${policy.gaveUp || `${policy.failures} attempts in a row without progress`}; ${kept})`,
      fix,
      code: 'EAPPDOWNLOAD',
    });
  }
  if (wrongDigest !== undefined) {
    await discardPartial(dest);
    options.progress?.fail('checksum mismatch');
    // A URL that announced a whole file of another size holds another file (a mirror moved on to the next release under the
    // same names): running again downloads it again. Said, with the setting that chose the mirror when it was the user's.
    // part.sources still names the URLs the wrong bytes came from: nothing restarts the partial after the last check.
    const other = [...part.sources].find((url) => otherSizes.has(url));
    const otherFile =
      other === undefined ? '' : `; ${other} announced ${otherSizes.get(other)} bytes, the release pins ${size}: it serves another file under this name`;
    let fix = 'run the same command again; if it keeps failing, the download host or a proxy is serving the wrong file';
    if (options.fromBaseUrl && other !== undefined)
      fix = `AO_APP_BASE_URL is set, and the URL made from it serves another file under this name: ${BASE_URL_REMEDY}`;
    // Other bytes of the pinned size: a copy damaged on its way to the mirror, or a proxy altering downloads, not a setting
    // that names a file instead of its folder.
    else if (options.fromBaseUrl)
      fix =
        "run the same command again; if it keeps failing, the mirror AO_APP_BASE_URL names (or a proxy) serves other bytes than this release pins: replace its copy of this release, or unset AO_APP_BASE_URL to download from the release's own host";
    else if (other !== undefined)
      fix =
        "the release's download host serves another file under this name: report it to the ao maintainers, or set AO_APP_BASE_URL to a mirror that has this release";
    throw new UserError({
      what: `the downloaded desktop app failed verification`,
      why: `its sha512 is ${wrongDigest}, the manifest pins ${integrity}${policy.urls.length > 1 ? ' (every mirror served such bytes)' : ''}${otherFile}; the bytes were discarded and nothing was installed`,
      fix,
      code: 'EINTEGRITY',
    });
  }
  return { resumedFrom: part.resumedFrom, fetched: part.fetched, url: part.sidecar?.url ?? options.urls[0]! };
}

/** A failure that was the stall time running out: ours, or undici's own headers or body timeout (set to the same time). */
function stalled(failure: unknown): boolean {
  const code = (failure as { code?: unknown } | undefined)?.code;
  return failure instanceof StallError || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/** How to mend an AO_APP_BASE_URL whose URLs do not give the app. */
const BASE_URL_REMEDY =
  "set AO_APP_BASE_URL to the folder holding this release's files, not to a file in it (like AO_APP_BASE_URL=https://mirror.example.com/ao/), or unset it to download from the release's own host, then run ao-app install again";

/** What to do once every URL is dropped, by the kind of the last failure. */
function deadUrlsFix(failure: unknown, proxy: string, fromBaseUrl: boolean): string {
  if (failure instanceof CredentialsError)
    return 'the download host asks for credentials: if it is a private mirror, give them in its URL, as AO_APP_BASE_URL=https://<user>:<token>@<host>/<path>/, then run ao-app install again';
  if (failure instanceof ProxyCredentialsError)
    return `the proxy ${proxy} asks for credentials (or refused those in its URL): give its user and password in its URL, as HTTPS_PROXY=http://<user>:<password>@<proxy host>:<port> (and HTTP_PROXY alike; npm's proxy settings work the same way), then run ao-app install again`;
  if (failure instanceof ProxyRefusedError)
    return `the proxy ${proxy} does not let ao-app reach the download host: ask whoever runs it to allow that host, or set AO_APP_BASE_URL to a mirror it allows (or, if the host is reachable without the proxy, add it to NO_PROXY), then run ao-app install again`;
  if (failure instanceof PlainHttpError && failure.proxy !== undefined)
    return `the proxy's URL says https://, but the proxy speaks plain HTTP (as most do: the scheme is the proxy's own, not the download's): set HTTPS_PROXY=${failure.proxy.replace(/^https:/, 'http:')} (and HTTP_PROXY alike; npm's proxy settings work the same way), then run ao-app install again`;
  if (failure instanceof PlainHttpError)
    return 'the download host answered in plain HTTP where HTTPS was asked: on a hotel or café network, sign in to it in a web browser first (its gateway answers in place of the host); for a mirror of your own, serve it over HTTPS or give its http:// URL in AO_APP_BASE_URL; then run ao-app install again';
  if (failure instanceof CertificateError)
    return "this network shows an HTTPS certificate Node does not trust: on a hotel or café network, sign in to it in a web browser first; behind a proxy or firewall inspecting HTTPS, set NODE_EXTRA_CA_CERTS to its CA certificate file (the one npm's cafile names); for an expired one, check the clock; then run ao-app install again";
  // The URL was the user's (AO_APP_BASE_URL, its folder with the file name added): a file URL pasted in there, or a mirror
  // that lacks this release, is theirs to mend, not the release's to report.
  if (fromBaseUrl)
    return `AO_APP_BASE_URL is set, and the URL made from it (that folder, then the file's name) does not serve this file as pinned: ${BASE_URL_REMEDY}`;
  return "the release's download host does not serve this file as pinned: report it to the ao maintainers, or set AO_APP_BASE_URL to a mirror that has it";
}

interface AttemptContext {
  dispatcher: Dispatcher;
  maxRedirects: number;
  stallTimeoutMs: number;
  signal: AbortSignal;
  /** Called once the request settles (headers in, or failed). */
  answered: () => void;
  /** Told each URL asked, the first and each redirect's. */
  onHop: (url: string) => void;
  /** Drops the partial's bytes and starts over. */
  restart: () => Promise<void>;
  /** Told the whole file's size an answer announced (Content-Length of a 200 that is no page, Content-Range's total). */
  announcedSize: (url: string, length: number) => void;
  progress?: Progress;
}

/**
 * One attempt: a GET from `url` (resuming at the partial's offset), its answer judged, and the body
 * streamed into the partial. Throws RetryableError or DeadUrlError for the policy to weigh, a
 * UserError when no retry can help (a full disk).
 */
async function fetchOnce(url: string, part: PartialFile, ctx: AttemptContext): Promise<void> {
  const { size } = part;
  const res = await follow(url, ctx, part.offset, size, part.sidecar).finally(ctx.answered);
  // A body error must reach the read below, never crash the process as an unhandled 'error' event.
  res.body.on('error', () => undefined);
  const status = rangeUnder200(res.statusCode, header(res.headers, 'content-range'), part.offset) ? 206 : res.statusCode;
  if (status === 511) {
    discard(res.body);
    throw new LoginPageError(`${url} answered 511 Network Authentication Required (the network wants a sign-in first)`);
  }
  if (status === 429 || (status >= 500 && status < 600)) {
    discard(res.body);
    throw new HostAnsweredError(`${url} answered ${status}`, status, parseRetryAfter(res.headers));
  }
  if (status === 416 && part.offset > 0) {
    discard(res.body);
    const total = rangeTotal(header(res.headers, 'content-range'));
    if (total !== undefined && total !== size) throw new DeadUrlError(`${url} holds ${total} bytes, but the release pins ${size}`);
    await ctx.restart();
    throw new RetryableError(`${url} refused the resume range`);
  }
  if (status !== 200 && status !== 206) {
    discard(res.body);
    // A timeout (408) may pass, like overload and server errors above; any other answer (a 404, a 204, a 304
    // nobody asked for, a status HTTP does not define) is what this URL serves, however often it is asked.
    if (status === 408) throw new HostAnsweredError(`${url} answered ${status}`, status);
    if (status === 401) throw new CredentialsError(`${url} answered 401 (it asks for credentials)`);
    throw new DeadUrlError(`${url} answered ${status}`);
  }
  // The app is never an HTML page: this is a network's sign-in page (a captive portal answers any URL with one) or a
  // proxy's error page. Taken for the app's first bytes, it would make the whole download fail its hash at the end. But a
  // download script that sets no type (PHP's default is text/html) sends the app so labelled: a whole file (200) whose
  // first bytes are an artifact's is taken, where it had been refused at every attempt, "sign in to this network". Such a
  // script's resume is a 206 so labelled: one that continues the partial (its start and the pinned size) is no page.
  const labelledPage = PAGE_TYPE.test(header(res.headers, 'content-type') ?? '');
  if (labelledPage && status !== 200 && !(status === 206 && continuesPartial(header(res.headers, 'content-range'), part.offset, size))) {
    discard(res.body);
    throw htmlPage(url);
  }
  const encoding = contentCoding(header(res.headers, 'content-encoding'));
  // A 206 that continues the partial with the pinned size as its whole is a range of the file (a compressed file's range
  // would give the compressed size): its own bytes under any label (a mirror that labels every answer so), unless a gzip
  // label is true, the range compressed on the fly (a proxy, PHP's zlib.output_compression) under the same Content-Range:
  // shorter than its range, and a gzip stream. Decoded, it is the rest of the file; taken as it was, resume after resume
  // ended early and the download failed its pin.
  const continues = status === 206 && continuesPartial(header(res.headers, 'content-range'), part.offset, size);
  const gzipLabel = isGzipLabel(encoding);
  let coded = encoding !== 'identity' && !(continues && (!gzipLabel || asLongAsItsRange(res.headers)));
  // The body's bytes as they arrive, each counted once against the stall rule, the head read included (a body
  // trickling in had held the attempt until its head came, whatever the stall time).
  let source: AsyncIterable<unknown> = watched(res.body, trickleWatch(url, ctx.stallTimeoutMs));
  if (coded && (status === 200 || continues)) {
    const head = await readHead(source, CODING_HEAD_BYTES);
    source = head.body;
    const bytes = Buffer.concat(head.chunks);
    coded = status === 200 ? !notInThatCoding(encoding, bytes) : gunzipHead(bytes) !== undefined;
  }
  const decoder = coded ? DECODERS[encoding] : undefined;
  if (coded && !decoder) {
    discard(res.body);
    throw new DeadUrlError(`${url} sends the file with Content-Encoding: ${encoding}, which ao-app cannot decode (it asked for identity)`);
  }
  if (decoder && status === 206 && !continues) {
    // A range of the compressed bytes is no range of the file: start over, asking for all of it.
    discard(res.body);
    await ctx.restart();
    throw new RetryableError(`${url} answered a resume with a range of the compressed (Content-Encoding: ${encoding}) file`);
  }
  // Where a 206 says its slice ends: a server may hand out a large file in slices, each one a whole answer.
  let sliceEnd: number | undefined;
  if (status === 206) {
    const contentRange = header(res.headers, 'content-range');
    const end = byteRange(contentRange)?.end;
    sliceEnd = end === undefined ? undefined : end + 1;
    const total = rangeTotal(contentRange);
    if (total !== undefined && total !== size) {
      discard(res.body);
      throw new DeadUrlError(`${url} holds ${total} bytes, but the release pins ${size}`);
    }
    if (total !== undefined) ctx.announcedSize(url, total);
    if (rangeStart(contentRange) !== part.offset) {
      discard(res.body);
      // Said before the restart, which sets the offset back to 0 (the message had named that).
      const failure = new RetryableError(`${url} sent a range that does not start at ${part.offset}`);
      await ctx.restart();
      throw failure;
    }
  }
  // A 200 where a range was asked (ignored Range, or If-Range saw a new ETag): start over, but only once its first bytes
  // show it is no sign-in page. A page sent without an HTML type in answer to a resume (a laptop waking up on a hotel
  // network whose sign-in expired) had cost every byte kept.
  const startOver = status === 200 && part.offset > 0;
  // A whole file of another size in answer to a resume is another file (a "latest" URL moved to the next release), known
  // once its first bytes show it is no sign-in page: the kept bytes stay for a mirror or a later run. Started over, they
  // had been thrown away for bytes that never match the pin.
  const length = header(res.headers, 'content-length') ?? '';
  const announcesOther = status === 200 && !decoder && /^\d+$/.test(length) && Number(length) !== size;
  const otherFile = startOver && announcesOther;
  let begun = false;
  const begin = async () => {
    begun = true;
    if (startOver) await ctx.restart();
    await part.begin(url, header(res.headers, 'etag'), header(res.headers, 'last-modified'));
  };
  if (!startOver && !labelledPage) await begin();
  let batch: Buffer[] = [];
  let batched = 0;
  // The file's first bytes are looked at before any is written: kept, a sign-in page's would be resumed after
  // once the network lets the app through, and the spliced file fail its hash at the end of the whole download.
  let sniff = part.offset === 0 || startOver;
  // One batch is written (and hashed) while the next one arrives: on a disk whose page cache is slow to
  // fill, awaiting each write before reading on left the connection idle for half the download.
  let writing: Promise<void> | undefined;
  const flush = async () => {
    await writing;
    if (batched === 0) return;
    if (sniff) {
      sniff = false;
      const head = firstBytes(batch, 512);
      if (looksLikePage(head) || (labelledPage && !startsLikeArtifact(head))) {
        batch = [];
        batched = 0;
        throw htmlPage(url);
      }
      // Told only once the first bytes are no web page: a sign-in page's own length had been blamed as another file's.
      if (status === 200 && !decoder && /^\d+$/.test(length)) ctx.announcedSize(url, Number(length));
      if (otherFile) {
        batch = [];
        batched = 0;
        throw new DeadUrlError(`${url} holds ${length} bytes, but the release pins ${size}`);
      }
    }
    if (!begun) await begin();
    const chunks = batch;
    batch = [];
    batched = 0;
    writing = part.write(chunks).then((taken) => ctx.progress?.advance(taken));
    // A failed write ends the attempt at the next flush; until then nobody must be left to hear it.
    writing.catch(() => undefined);
  };
  // Where the bytes received so far end, written or not.
  const from = startOver ? 0 : part.offset;
  let received = from;
  // A server or proxy that compresses although identity was asked (Content-Encoding: gzip): the pinned hash is the file's, so decode it.
  const body: AsyncIterable<unknown> = decoder ? pipeline(source, decoder(), () => undefined) : source;
  try {
    for await (const chunk of body) {
      batch.push(chunk as Buffer);
      batched += (chunk as Buffer).length;
      received += (chunk as Buffer).length;
      // More bytes than the manifest pins: whatever else comes is not the artifact (leaving the loop discards the body).
      if (received >= size) break;
      if (batched >= WRITE_BATCH) await flush();
    }
  } finally {
    // What was read before a body error or a cut attempt is written too, so the next attempt resumes after it
    // (bytes undici still held unread go with the body it destroys, and are fetched again).
    await flush();
    await writing;
  }
  if (part.offset >= size) return;
  // A slice delivered whole is progress, not a failure: the next request asks for the rest at once. Counted as a failed
  // attempt, each slice had cost a backoff and, under 256 KiB, a request of the budget, which ended the download.
  // An empty slice (`bytes N-(N-1)`) is no progress: taken for one, it was asked for again at once, without end.
  if (sliceEnd !== undefined && sliceEnd < size && part.offset === sliceEnd && received > from) return;
  // A whole answer holding nothing: the URL serves an empty file (an upload that never finished), not a flaky network.
  if (status === 200 && received === 0) throw new DeadUrlError(`${url} holds 0 bytes, but the release pins ${size}`);
  throw new RetryableError(`${url} ended the body early at ${part.offset} of ${size} bytes`);
}

/**
 * How much of a body labelled with a Content-Encoding is looked at before deciding whether to decode it: enough for a
 * tar's first header once decoded, and at most ~1 MB decoded however well the body compresses.
 */
const CODING_HEAD_BYTES = 1 << 10;

/**
 * The stall rule over a body's bytes, told as they come: fewer than TRICKLE_BYTES in a stall window is a StallError (a body
 * that stops altogether is undici's bodyTimeout).
 */
function trickleWatch(url: string, stallTimeoutMs: number): (bytes: number) => void {
  // Monotonic, as the deadline: a wall clock stepped forward mid-body would cut a healthy attempt as a trickle.
  let windowStart = performance.now();
  let windowBytes = 0;
  return (bytes) => {
    windowBytes += bytes;
    if (windowBytes >= TRICKLE_BYTES) {
      windowStart = performance.now();
      windowBytes = 0;
    } else if (performance.now() - windowStart > stallTimeoutMs) {
      throw new StallError(`${url} sent only ${windowBytes} bytes in ${stallTimeoutMs} ms`);
    }
  };
}

/** A 206 whose Content-Length is its Content-Range's length: its bytes as they are, since a compressed range is shorter. */
function asLongAsItsRange(headers: Record<string, string | string[] | undefined>): boolean {
  const range = byteRange(header(headers, 'content-range'));
  const length = header(headers, 'content-length');
  return range !== undefined && length !== undefined && /^\d+$/.test(length) && Number(length) === range.end - range.start + 1;
}

/** `body` with each chunk told to `watch` as it arrives (raw, before any decoding). */
async function* watched(body: AsyncIterable<unknown>, watch: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    watch((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}

/**
 * The body's first chunks, at least `n` bytes unless it ends sooner, and the whole body again (those chunks, then the rest).
 * The rest is read through one iterator, closed (the body destroyed) when the reader stops early.
 */
async function readHead(body: AsyncIterable<unknown>, n: number): Promise<{ chunks: Buffer[]; body: AsyncIterable<Buffer> }> {
  const rest = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  try {
    for (let length = 0; length < n; ) {
      const next = await rest.next();
      if (next.done) break;
      chunks.push(next.value as Buffer);
      length += (next.value as Buffer).length;
    }
  } catch (err) {
    await rest.return?.();
    throw err;
  }
  async function* whole(): AsyncGenerator<Buffer> {
    try {
      yield* chunks;
      for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value as Buffer;
    } finally {
      await rest.return?.();
    }
  }
  return { chunks, body: whole() };
}

/**
 * A body labelled with Content-Encoding `coding` whose bytes are not in that coding but as they are (the pinned hash still
 * judges them either way):
 * - an artifact's start under any label (a zip, ELF or MZ; a gzip under any label but gzip's), a charset or `binary`
 *   included, as curl, wget and browsers keep such bytes: no zlib or zstd stream starts so, and a brotli one that did
 *   would still have to match the pin. Decoded, a zip labelled gzip failed every attempt ("incorrect header check") and
 *   the give-up said to check the network; an unknown label dropped the URL;
 * - a tar.gz labelled gzip for its own compression (Apache's `AddEncoding x-gzip .gz .tgz`), which decoded is a tar (no
 *   artifact is): decoded, it failed the pin after the whole download;
 * - a web page (a gateway's sign-in page so labelled), left for the sniff to know: it had been "incorrect header check".
 */
function notInThatCoding(coding: string, head: Buffer): boolean {
  // A web page under the label (a network's gateway that labels everything so) is taken as it is, so the sniff knows it.
  if (looksLikePage(head)) return true;
  if (!startsWith(head, GZIP_MAGIC) || !isGzipLabel(coding)) return startsLikeArtifact(head);
  return gunzipHead(head)?.subarray(257, 262).toString('latin1') === 'ustar';
}

/** What a body's head decodes to as gzip so far, or undefined when it is no gzip stream. */
function gunzipHead(head: Buffer): Buffer | undefined {
  try {
    // Cut short, so flushed rather than ended.
    return gunzipSync(head.subarray(0, CODING_HEAD_BYTES), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return undefined;
  }
}

/**
 * The coding a Content-Encoding header names: `identity` for none, which an empty value (an empty list, RFC 9110) and
 * `none` (sent by some servers) also mean; these had dropped the URL as a coding ao-app cannot decode.
 */
function contentCoding(value: string | undefined): string {
  const coding = (value ?? '').trim().toLowerCase();
  return coding === '' || coding === 'none' ? 'identity' : coding;
}

/**
 * undici re-dials on its own when a connection fails before the request is sent (a proxy that drops
 * CONNECT: nodejs/undici#3897), without ever failing the request. A few such failures in one
 * attempt end the attempt, so our own retry budget decides.
 */
function abortOnRepeatedConnectErrors(asked: () => string, urls: string[], attempt: AbortController, limit = 3): () => void {
  let seen = 0;
  const channel = diagnostics.channel('undici:client:connectError');
  const onError = (message: unknown) => {
    // The URL asked now: a redirect may have taken the attempt to another host, through another proxy.
    const url = asked();
    const host = new URL(url).hostname;
    const { error, connectParams } = message as { error?: Error; connectParams?: { hostname?: string; host?: string } };
    if (connectParams?.hostname !== host && !connectParams?.host?.startsWith(host)) return;
    if (++seen < limit || attempt.signal.aborted) return;
    const proxy = proxyInUse(url, urls);
    attempt.abort(
      new RetryableError(`cannot connect to ${host}${proxy ? ` through the proxy ${proxy}` : ''} (${error?.message ?? 'connection failed'}, ${seen} times)`),
    );
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

/** The HTTP Basic credentials a URL carries (a private mirror's https://user:token@host/), and the origin they belong to. */
function basicAuthOf(url: string): { origin: string; authorization?: string } {
  const { origin, username, password } = new URL(url);
  if (!username && !password) return { origin };
  return { origin, authorization: `Basic ${Buffer.from(`${decodeLoosely(username)}:${decodeLoosely(password)}`).toString('base64')}` };
}

/** One GET with Range/If-Range, following redirects by hand so chains are capped and loops caught. */
async function follow(
  start: string,
  { maxRedirects, dispatcher, stallTimeoutMs, signal, onHop }: AttemptContext,
  offset: number,
  size: number,
  sidecar: Sidecar | undefined,
): Promise<Dispatcher.ResponseData> {
  const seen = new Set<string>();
  let url = start;
  let validatorRefused = false;
  const { origin, authorization } = basicAuthOf(start);
  for (let hops = 0; ; hops++) {
    const headers: Record<string, string> = { 'user-agent': 'ao-app-fetcher', 'accept-encoding': 'identity' };
    // undici drops a URL's user and password: sent as HTTP Basic, as curl does, and only to that URL's own origin.
    const target = new URL(url);
    onHop(url);
    if (authorization && target.origin === origin) headers.authorization = authorization;
    target.username = '';
    target.password = '';
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // If-Range only against the URL the partial came from: another mirror's validators differ.
      // A weak ETag (W/"...") never matches If-Range (RFC 9110 forbids sending one; nginx ignores the Range then): Last-Modified instead.
      const strongEtag = sidecar?.etag?.startsWith('W/') ? undefined : sidecar?.etag;
      const validator = sidecar?.url === start && !validatorRefused ? (strongEtag ?? sidecar.lastModified) : undefined;
      if (validator) headers['if-range'] = validator;
    }
    const res = await untilAborted(
      request(target.toString(), { dispatcher, headers, signal, headersTimeout: stallTimeoutMs, bodyTimeout: stallTimeoutMs }),
      signal,
    );
    const sent = headers['if-range'];
    const etag = header(res.headers, 'etag');
    const lastModified = header(res.headers, 'last-modified');
    const sameSizeNewValidator =
      Number(header(res.headers, 'content-length')) === size && (etag ?? lastModified) !== undefined && etag !== sent && lastModified !== sent;
    if (res.statusCode === 200 && sent !== undefined && sameSizeNewValidator) {
      // The URL holds a file of the pinned size under another validator: another edge of a CDN, or a mirror behind a
      // load balancer, has its own ETag and mtime, and a re-upload of the same bytes gets new ones. The bytes kept are
      // pinned by size and sha512, which judge them at the end whatever the validator says: asked again without If-Range,
      // the resume keeps them. Starting over had lost every byte kept at each such resume (a server that ignores Range
      // answers with the validator sent, a sign-in page with none or another size: those still start over).
      discard(res.body);
      validatorRefused = true;
      hops--;
      continue;
    }
    if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304) return res;
    discard(res.body);
    const location = header(res.headers, 'location');
    // A redirect to nowhere is what this URL serves (a misconfigured mirror or CDN rule), however often it is asked.
    if (!location) throw new DeadUrlError(`${url} answered ${res.statusCode} without a Location (a redirect to nowhere)`);
    seen.add(url);
    const next = URL.canParse(location, url) ? new URL(location, url) : undefined;
    if (next?.protocol !== 'http:' && next?.protocol !== 'https:') throw new DeadUrlError(`${start} redirects to ${location}, which is not an http(s) URL`);
    url = next.toString();
    if (seen.has(url)) throw new DeadUrlError(`${start} redirects in a loop (back to ${url})`);
    if (hops + 1 >= maxRedirects) throw new DeadUrlError(`${start} redirected more than ${maxRedirects} times`);
  }
}
