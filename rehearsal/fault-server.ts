import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';

/**
 * A real HTTP server on 127.0.0.1 that serves files with Range/If-Range/ETag
 * like a CDN, and misbehaves on request: each path has a queue of faults, one
 * consumed per request. Records every request and the body bytes it sent.
 * No vitest import: the bench and the rehearsal reuse it.
 */
export type Fault =
  /** Send the headers and this many body bytes, then destroy the socket; `contentType` and `contentEncoding` as those faults'. */
  | { kind: 'drop'; afterBytes: number; contentType?: string; contentEncoding?: string }
  /** Send this many body bytes, then nothing for `ms` (then continue). */
  | { kind: 'stall'; ms: number; afterBytes?: number }
  | { kind: 'status'; status: number }
  /**
   * `clockAheadMs`: Retry-After as an HTTP-date instead, `seconds` after the answer's own Date header, both read from a
   * server clock this far ahead of this machine's (a laptop whose clock is behind).
   */
  | { kind: 'retry-after'; seconds: number; status?: 429 | 503; clockAheadMs?: number }
  /** Answer 200 with the whole body even when a Range was asked. */
  | { kind: 'ignore-range' }
  /** Answer a Range with a 206 of the range starting this many bytes after the one asked (its Content-Range saying so). */
  | { kind: 'range-shifted'; by: number }
  /** Answer a Range with its bytes and Content-Range, but under status 200 (a proxy that rewrites the status, not the range). */
  | { kind: 'range-as-200' }
  /** Spell the Content-Range unit so (`Bytes`, `BYTES`: RFC 9110 says range units are case-insensitive). */
  | { kind: 'range-unit'; unit: string }
  /** From this request on, the file has a new ETag (a redeploy). */
  | { kind: 'change-etag' }
  /** Announce more (positive) or fewer (negative) bytes than sent. */
  | { kind: 'lie-length'; by: number }
  | { kind: 'redirect'; to: string; status?: 301 | 302 | 303 | 307 | 308 }
  /** Flip one byte of the body. */
  | { kind: 'wrong-bytes' }
  /**
   * Send the body this many bytes a second, a tenth of that every 100 ms: never idle for long, never done (a slow-loris
   * server). `contentEncoding`: a Content-Encoding header over the file's own bytes, as `drop`'s.
   */
  | { kind: 'trickle'; bytesPerSecond: number; contentEncoding?: string }
  /**
   * Answer 200 with a small HTML page and its Content-Length, as a hotel or café network's sign-in page (a captive portal)
   * does for any URL.
   * `contentType`: what the page says it is (text/html by default; some portals send none, '', or application/octet-stream).
   * `body`: the page itself (a small HTML5 page by default; some portals send XHTML behind an `<?xml ...?>` prolog).
   * `contentEncoding`: a Content-Encoding header over the page's own bytes (a gateway that labels every answer gzip).
   */
  | { kind: 'login-page'; contentType?: string; body?: string; contentEncoding?: string }
  /**
   * Send the whole file gzip-compressed with `Content-Encoding: gzip` (200, or 206 of the compressed bytes when a Range was
   * asked), whatever Accept-Encoding said. `onTheFly`: compress what would have been sent instead, as a compressing proxy or
   * PHP's zlib.output_compression does: a Range's bytes, gzip-compressed, under that range's own Content-Range (the file's
   * positions and size). `chunked`: without a Content-Length.
   */
  | { kind: 'gzip'; onTheFly?: boolean; chunked?: boolean }
  /** Send the file's own bytes under this Content-Type (a download script that never sets one: PHP's default is text/html). */
  | { kind: 'content-type'; value: string }
  /** Send the file's own bytes under this Content-Encoding header (`''`: the header with an empty value, which names no coding). */
  | { kind: 'content-encoding'; value: string };

export interface RequestRecord {
  method: string;
  path: string;
  range?: string;
  ifRange?: string;
  authorization?: string;
  status: number;
  fault?: Fault['kind'];
  bytesSent: number;
}

interface Served {
  file: string;
  size: number;
  etag: string;
  lastModified: string;
  generation: number;
  /** "user:password" this file is served to only (HTTP Basic), as a private mirror does. */
  basicAuth?: string;
  /** The most bytes one 206 carries, its Content-Range ending there: a server that serves a large file in slices. */
  rangeCap?: number;
}

export interface FaultServer {
  url: string;
  /**
   * Serves `file` at `path` ("/name"); `weakEtag`: a weak ETag (W/"..."), as Express's static files have, which If-Range never
   * matches (RFC 9110, nginx); `rangeCap`: each Range request is answered with at most this many bytes (a 206 whose
   * Content-Range says where the slice ends), as a server handing out a large file in slices does.
   */
  serve(path: string, file: string, options?: { weakEtag?: boolean; basicAuth?: string; rangeCap?: number }): Promise<void>;
  /** Queues faults for the next requests to `path`, in order. */
  fault(path: string, ...faults: Fault[]): void;
  /** A redirect that always applies (for chains and loops). */
  redirect(from: string, to: string, status?: 301 | 302 | 307): void;
  /** Limits the body rate of every response (bytes per second), 0 for none. */
  throttle(bytesPerSecond: number): void;
  requests: RequestRecord[];
  bytesSent(path?: string): number;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

export async function startFaultServer(): Promise<FaultServer> {
  const files = new Map<string, Served>();
  const queues = new Map<string, Fault[]>();
  const redirects = new Map<string, { to: string; status: number }>();
  const requests: RequestRecord[] = [];
  const sockets = new Set<Socket>();
  let rate = 0;
  let closing = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      authorization: req.headers.authorization,
      status: 0,
      bytesSent: 0,
    };
    requests.push(record);
    const fault = queues.get(path)?.shift();
    record.fault = fault?.kind;
    const finishWith = (status: number, headers: Record<string, string | number> = {}, body: string | Buffer = '') => {
      record.status = status;
      res.writeHead(status, headers).end(body);
    };
    if (fault?.kind === 'redirect') return finishWith(fault.status ?? 302, { location: fault.to });
    const permanent = redirects.get(path);
    if (permanent) return finishWith(permanent.status, { location: permanent.to });
    if (fault?.kind === 'status') return finishWith(fault.status, {}, `fault ${fault.status}\n`);
    if (fault?.kind === 'retry-after') {
      if (fault.clockAheadMs === undefined) return finishWith(fault.status ?? 429, { 'retry-after': String(fault.seconds) }, 'slow down\n');
      // HTTP-dates count whole seconds.
      const serverNow = Math.floor((Date.now() + fault.clockAheadMs) / 1000) * 1000;
      const at = (ms: number) => new Date(ms).toUTCString();
      return finishWith(fault.status ?? 429, { date: at(serverNow), 'retry-after': at(serverNow + fault.seconds * 1000) }, 'slow down\n');
    }
    if (fault?.kind === 'login-page') {
      const page = fault.body ?? '<!doctype html><html><body><form action="/login">Sign in to the hotel Wi-Fi</form></body></html>\n';
      return finishWith(
        200,
        {
          ...(fault.contentType === '' ? {} : { 'content-type': fault.contentType ?? 'text/html; charset=utf-8' }),
          ...(fault.contentEncoding === undefined ? {} : { 'content-encoding': fault.contentEncoding }),
          'content-length': Buffer.byteLength(page),
        },
        page,
      );
    }
    const served = files.get(path);
    if (!served) return finishWith(404, {}, 'not found\n');
    if (served.basicAuth && req.headers.authorization !== `Basic ${Buffer.from(served.basicAuth).toString('base64')}`)
      return finishWith(401, { 'www-authenticate': 'Basic realm="mirror"' }, 'who are you\n');
    if (fault?.kind === 'change-etag') {
      served.generation++;
      const weak = served.etag.startsWith('W/') ? 'W/' : '';
      served.etag = `${weak}"${served.etag.slice(weak.length + 1, -1).split('-g')[0]}-g${served.generation}"`;
    }

    let start = 0;
    let end = served.size - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    // If-Range compares strongly: a weak ETag never matches (RFC 9110 13.1.5, as nginx does).
    const ifRangeMatches = ifRange === undefined || (ifRange === served.etag && !ifRange.startsWith('W/')) || ifRange === served.lastModified;
    const rangeApplies = range && fault?.kind !== 'ignore-range' && ifRangeMatches;
    if (range && rangeApplies) {
      start = Number(range[1]) + (fault?.kind === 'range-shifted' ? fault.by : 0);
      end = range[2] ? Math.min(Number(range[2]), served.size - 1) : served.size - 1;
      if (served.rangeCap !== undefined) end = Math.min(end, start + served.rangeCap - 1);
      if (start >= served.size) return finishWith(416, { 'content-range': `bytes */${served.size}` });
      status = 206;
    }
    if (fault?.kind === 'gzip') {
      const file = await readFile(served.file);
      const zipped = gzipSync(fault.onTheFly ? file.subarray(start, end + 1) : file);
      const from = status === 206 && !fault.onTheFly ? Math.min(start, zipped.length - 1) : 0;
      const headers: Record<string, string | number> = { 'content-encoding': 'gzip', etag: served.etag };
      if (!fault.chunked) headers['content-length'] = zipped.length - from;
      if (status === 206)
        headers['content-range'] = fault.onTheFly ? `bytes ${start}-${end}/${served.size}` : `bytes ${from}-${zipped.length - 1}/${zipped.length}`;
      record.bytesSent += zipped.length - from;
      return finishWith(status, headers, zipped.subarray(from));
    }
    const length = end - start + 1;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: served.etag,
      'last-modified': served.lastModified,
      'content-length': fault?.kind === 'lie-length' ? Math.max(0, length + fault.by) : length,
    };
    if (status === 206) headers['content-range'] = `${fault?.kind === 'range-unit' ? fault.unit : 'bytes'} ${start}-${end}/${served.size}`;
    if (fault?.kind === 'content-encoding') headers['content-encoding'] = fault.value;
    if (fault?.kind === 'content-type') headers['content-type'] = fault.value;
    if (fault?.kind === 'drop' && fault.contentType !== undefined) headers['content-type'] = fault.contentType;
    if ((fault?.kind === 'drop' || fault?.kind === 'trickle') && fault.contentEncoding !== undefined) headers['content-encoding'] = fault.contentEncoding;
    if (fault?.kind === 'range-as-200') status = 200;
    record.status = status;
    res.writeHead(status, headers);
    // An empty file has no byte range to read (createReadStream refuses end -1).
    if (req.method === 'HEAD' || length === 0) return void res.end();

    const sendLimit = fault?.kind === 'lie-length' && fault.by < 0 ? length + fault.by : length;
    let sent = 0;
    let flipped = false;
    for await (const raw of createReadStream(served.file, { start, end, highWaterMark: CHUNK })) {
      if (closing || res.destroyed) return;
      let chunk = raw as Buffer;
      if (fault?.kind === 'drop' && sent + chunk.length >= fault.afterBytes) {
        const part = chunk.subarray(0, Math.max(0, fault.afterBytes - sent));
        // Let the bytes reach the kernel before cutting, so the client really got afterBytes.
        if (part.length > 0) {
          record.bytesSent += part.length;
          await new Promise<void>((resolve) => res.write(part, () => resolve()));
        }
        res.socket?.destroy();
        return;
      }
      if (fault?.kind === 'stall' && sent + chunk.length >= (fault.afterBytes ?? 0) && !flipped) {
        const part = chunk.subarray(0, Math.max(0, (fault.afterBytes ?? 0) - sent));
        if (part.length > 0) await write(res, part, record);
        sent += part.length;
        chunk = chunk.subarray(part.length);
        flipped = true; // reuse the flag: stall only once
        await sleep(fault.ms);
        if (closing || res.destroyed) return;
      }
      if (fault?.kind === 'wrong-bytes' && !flipped) {
        chunk = Buffer.from(chunk);
        chunk[0]! ^= 0xff; // a file stream never yields an empty chunk
        flipped = true;
      }
      if (fault?.kind === 'trickle') {
        const step = Math.max(1, Math.round(fault.bytesPerSecond / 10));
        for (let i = 0; i < chunk.length; i += step) {
          await write(res, chunk.subarray(i, i + step), record);
          sent += Math.min(step, chunk.length - i);
          await sleep(100);
          if (closing || res.destroyed) return;
        }
        continue;
      }
      if (sent + chunk.length > sendLimit) chunk = chunk.subarray(0, sendLimit - sent);
      if (chunk.length > 0) await write(res, chunk, record);
      sent += chunk.length;
      if (rate > 0) await sleep((chunk.length / rate) * 1000);
      if (sent >= sendLimit) break;
    }
    if (fault?.kind === 'lie-length' && fault.by > 0) res.socket?.destroy();
    else res.end();
  }

  function write(res: ServerResponse, chunk: Buffer, record: RequestRecord): Promise<void> {
    record.bytesSent += chunk.length;
    return new Promise((resolve) => {
      if (res.write(chunk)) resolve();
      else {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    async serve(path, file, options = {}) {
      const info = await stat(file);
      const tag = createHash('sha1').update(`${file}:${info.size}:${info.mtimeMs}`).digest('hex').slice(0, 16);
      files.set(path, {
        file,
        size: info.size,
        etag: `${options.weakEtag ? 'W/' : ''}"${tag}"`,
        lastModified: info.mtime.toUTCString(),
        generation: 0,
        basicAuth: options.basicAuth,
        rangeCap: options.rangeCap,
      });
    },
    fault(path, ...faults) {
      queues.set(path, [...(queues.get(path) ?? []), ...faults]);
    },
    redirect(from, to, status = 302) {
      redirects.set(from, { to, status });
    },
    throttle(bytesPerSecond) {
      rate = bytesPerSecond;
    },
    requests,
    bytesSent(path) {
      return requests.filter((r) => path === undefined || r.path === path).reduce((n, r) => n + r.bytesSent, 0);
    },
    async close() {
      closing = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
