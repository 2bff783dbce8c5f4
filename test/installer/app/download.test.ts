import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { request } from 'undici';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFile } from '../../../common/integrity.js';
import { createProgress } from '../../../common/progress.js';
import { defaultDispatcher, download } from '../../../installer/app/download.js';
import { partialPath, sidecarPath } from '../../../installer/app/partial-file.js';
import { writePadding } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { tempDir } from './helpers.js';

const SIZE = 3 << 20;
/** openssl makes the self-signed certificate of the TLS case (the Linux and macOS runners have it). */
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
let server: FaultServer;
let source: string;
let pinned: { integrity: string; size: number };
let n = 0;

beforeAll(async () => {
  server = await startFaultServer();
  source = join(await tempDir('dl-src'), 'app.zip');
  await writePadding(source, SIZE);
  pinned = await digestFile(source);
});
afterAll(() => server.close());

/** A fresh URL path per case so fault queues and byte counts do not mix. */
async function servedPath(): Promise<string> {
  const path = `/case-${++n}/app.zip`;
  await server.serve(path, source);
  return path;
}

async function fetchTo(path: string, opts: Partial<Parameters<typeof download>[0]> = {}) {
  const dest = join(await tempDir('dl'), 'app.zip');
  const result = await download({ urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10, stallTimeoutMs: 2_000, ...opts });
  return { dest, result };
}

/** Download options for `path` that give up after three attempts (the sign-in page cases), into a fresh folder. */
async function giveUpAfterThree(path: string) {
  const dest = join(await tempDir('dl'), 'app.zip');
  return { urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10, stallTimeoutMs: 2_000, retries: 2 };
}

/** The source with a zip's first bytes (as the app's begin), served at a fresh path named `name`, with its pin. */
async function servedZipLike(name: string) {
  const zip = join(await tempDir('dl-src'), 'app.zip');
  await writeFile(zip, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), await readFile(source)]));
  const path = `/case-${++n}/${name}`;
  await server.serve(path, zip);
  return { path, pin: await digestFile(zip) };
}

/** A sign-in page saved with a UTF-8 byte order mark, as Windows editors write one. */
const BOM_PAGE = '\uFEFF<!doctype html><html><body><form action="/login">Sign in to the hotel Wi-Fi</form></body></html>\n';

async function expectGood(dest: string) {
  expect((await digestFile(partialPath(dest))).integrity).toBe(pinned.integrity);
}

describe.concurrent('download against a misbehaving server', () => {
  it('resumes after the connection drops mid-body, asking only for the rest', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 });
    const { dest } = await fetchTo(path);
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    expect(reqs).toHaveLength(2);
    const resumedAt = Number(/bytes=(\d+)-/.exec(reqs[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1 << 20);
    expect(reqs[1]!.status).toBe(206);
    expect(reqs[1]!.bytesSent).toBe(SIZE - resumedAt);
  });

  it('writes the bytes it read before a stalled transfer was cut, though they filled no write batch, and resumes exactly after them', async () => {
    const path = await servedPath();
    // 100 KiB, less than one 256 KiB write batch: all of it read and waiting to be written when the attempt is cut.
    const stallAt = 100 << 10;
    server.fault(path, { kind: 'stall', ms: 5_000, afterBytes: stallAt });
    const { dest } = await fetchTo(path, { stallTimeoutMs: 500 });
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    expect(reqs.map((r) => r.range)).toEqual([undefined, `bytes=${stallAt}-`]);
  });

  /** A 24 MiB file at its own path: room for more connections than any budget allows, at 512 KiB each. */
  async function servedLarge(): Promise<{ path: string; pin: { integrity: string; size: number } }> {
    const file = join(await tempDir('dl-large'), 'app.zip');
    await writePadding(file, 24 << 20);
    const path = `/case-${++n}/large.zip`;
    await server.serve(path, file);
    return { path, pin: await digestFile(file) };
  }

  it('finishes on a network that cuts every connection after a little data, however many connections that takes', async () => {
    // As a hotel or mobile network capping each connection: 512 KiB each, over 40 connections for 24 MiB. Before,
    // 40 requests in all ended it with most of the app kept, and the user had to run install again, and again.
    const { path, pin } = await servedLarge();
    server.fault(path, ...Array.from({ length: 80 }, () => ({ kind: 'drop' as const, afterBytes: 512 << 10 })));
    const { dest } = await fetchTo(path, { ...pin, backoffBaseMs: 1 });
    expect((await digestFile(partialPath(dest))).integrity).toBe(pin.integrity);
    expect(server.requests.filter((r) => r.path === path).length).toBeGreaterThan(40);
  });

  it('still gives up after 40 requests that brought (almost) no new bytes, spread between ones that did', async () => {
    // Five failures, then a connection that brings 512 KiB, again and again: never six in a row without progress.
    const { path, pin } = await servedLarge();
    const round = [...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })), { kind: 'drop' as const, afterBytes: 512 << 10 }];
    server.fault(path, ...Array.from({ length: 12 }, () => round).flat());
    const err = await fetchTo(path, { ...pin, backoffBaseMs: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/gave up after 40 requests that brought less than 256 KiB each;/) });
    // The 40th fruitless request is the last: 8 rounds of 5, and the 8 that brought bytes between them.
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(47);
  });

  it('cuts a stalled transfer and resumes', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'stall', ms: 5_000, afterBytes: 512 << 10 });
    const started = Date.now();
    const { dest } = await fetchTo(path, { stallTimeoutMs: 500 });
    await expectGood(dest);
    expect(Date.now() - started).toBeLessThan(4_500);
    expect(server.requests.filter((r) => r.path === path)[1]!.range).toBe(`bytes=${512 << 10}-`);
  });

  // A hotel network that stops sending: the bar had stood at its last frame ("... 640 KB/s ETA 4s") for the whole stall
  // time (30 s by default), and nothing was said when the attempt was cut and asked again.
  it('says on the bar how long no data has come while a transfer stalls, instead of freezing at its last rate and ETA', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'stall', ms: 4_000, afterBytes: 512 << 10 });
    const frames: string[] = [];
    const progress = createProgress('app', { mode: 'tty', stream: { isTTY: true, columns: 200, write: (text: string) => frames.push(text) } });
    const { dest } = await fetchTo(path, { stallTimeoutMs: 10_000, progress });
    await expectGood(dest);
    expect(frames.some((f) => /\d+% [\d.]+ [KM]B\/3\.1 MB, no data for [34]s/.test(f))).toBe(true);
  });

  it('retries after 5xx answers', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'status', status: 500 }, { kind: 'status', status: 502 });
    const { dest } = await fetchTo(path);
    await expectGood(dest);
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([500, 502, 200]);
  });

  it('waits as long as Retry-After says on 429, saying so while it waits', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'retry-after', seconds: 1 });
    const said: string[] = [];
    const progress = { start: () => undefined, advance: () => undefined, finish: () => undefined, fail: () => undefined, waiting: (m: string) => said.push(m) };
    const started = Date.now();
    const { dest } = await fetchTo(path, { progress });
    await expectGood(dest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // A silent wait of seconds (up to 2 minutes for Retry-After, 30 s of backoff) looked like a hang.
    expect(said).toEqual([expect.stringMatching(/answered 429; trying again in 1 s/)]);
  });

  it("reads a Retry-After date against the server's own Date, so a laptop whose clock is hours behind waits the second asked, not hours", async () => {
    const path = await servedPath();
    // The server says "come back in 1 s" as a date; this machine's clock is 3 hours behind the server's.
    server.fault(path, { kind: 'retry-after', seconds: 1, status: 503, clockAheadMs: 3 * 3600_000 });
    const said: string[] = [];
    const progress = { start: () => undefined, advance: () => undefined, finish: () => undefined, fail: () => undefined, waiting: (m: string) => said.push(m) };
    // It had read 3 hours and 1 s against its own clock, longer than it waits: it gave up, saying to come back in 3 hours.
    const { dest } = await fetchTo(path, { progress });
    await expectGood(dest);
    expect(said).toEqual([expect.stringMatching(/answered 503; trying again in 1 s/)]);
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([503, 200]);
  });

  it('gives up at once on a Retry-After longer than it waits, saying when to come back, not blaming the network', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'retry-after', seconds: 86_400, status: 503 });
    const failed = await fetchTo(path).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/Retry-After: 86400 s/) });
    expect((failed as { fix: string }).fix).toMatch(/in 24 hours/);
    expect((failed as { fix: string }).fix).not.toMatch(/network/);
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('reaches the one mirror that has the file past many that do not (404), however many are listed first', async () => {
    const good = await servedPath();
    const gone = Array.from({ length: 10 }, (_, i) => `${good}.gone-${i}`);
    // It had given up after the seventh 404, "7 attempts in a row without progress", never asking the mirror that had it.
    const { dest } = await fetchTo(good, { urls: [...gone, good].map((p) => `${server.url}${p}`) });
    await expectGood(dest);
    expect(server.requests.filter((r) => r.path.startsWith(good)).map((r) => r.status)).toEqual([...gone.map(() => 404), 200]);
  });

  it('asks every mirror once before giving up, however many cannot be reached ahead of the one that answers', async () => {
    const good = await servedPath();
    const unreachable = Array.from({ length: 8 }, (_, i) => `http://127.0.0.1:1/mirror-${i}/app.zip`);
    // It had given up after the seventh refused connection, "7 attempts in a row without progress", never asking the last.
    const { dest } = await fetchTo(good, { urls: [...unreachable, `${server.url}${good}`], backoffBaseMs: 1 });
    await expectGood(dest);
  });

  it("asks the next mirror without waiting out the first one's Retry-After, which is that host's alone", async () => {
    const [primary, mirror] = [await servedPath(), await servedPath()];
    server.fault(primary, { kind: 'retry-after', seconds: 60, status: 503 });
    const said: string[] = [];
    const progress = { start: () => undefined, advance: () => undefined, finish: () => undefined, fail: () => undefined, waiting: (m: string) => said.push(m) };
    // It had waited the primary's 60 s before asking the mirror, which was never busy.
    const { dest } = await fetchTo(primary, { urls: [`${server.url}${primary}`, `${server.url}${mirror}`], progress });
    await expectGood(dest);
    expect(said).toEqual([]);
    expect(server.requests.filter((r) => r.path === primary || r.path === mirror).map((r) => [r.path, r.status])).toEqual([
      [primary, 503],
      [mirror, 200],
    ]);
  });

  it('a host that keeps answering 503 (an outage) is said to be failing, not the network, which reached it every time', async () => {
    const path = await servedPath();
    server.fault(path, ...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })));
    const failed = await fetchTo(path, { retries: 2 }).catch((err: unknown) => err);
    // It had said "check the network connection".
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/the download host .*answered 503/) });
    expect((failed as { fix: string }).fix).not.toMatch(/network/);
  });

  it('a host in an outage (503) beside a mirror that cannot be reached is said to be failing, whichever was asked last', async () => {
    const path = await servedPath();
    server.fault(path, ...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })));
    const urls = ['http://127.0.0.1:1/mirror/app.zip', `${server.url}${path}`];
    const failed = await fetchTo(path, { urls, retries: 2, backoffBaseMs: 1 }).catch((err: unknown) => err);
    // The refused mirror was asked last, and the user read "check the network connection" about a network that had reached
    // the other host every time.
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/answered 503/) });
    expect((failed as { fix: string }).fix).not.toMatch(/check the network/);
  });

  it('asks each mirror once when every one asks to come back later than it waits, and says when, not to check the network', async () => {
    const [primary, mirror] = [await servedPath(), await servedPath()];
    for (const path of [primary, mirror])
      server.fault(path, ...Array.from({ length: 10 }, () => ({ kind: 'retry-after' as const, seconds: 3_600, status: 503 as const })));
    const failed = await fetchTo(primary, { urls: [`${server.url}${primary}`, `${server.url}${mirror}`] }).catch((err: unknown) => err);
    // It had asked them seven times in 0.2 s, without a wait, and said to check the network connection.
    expect(server.requests.filter((r) => r.path === primary || r.path === mirror).map((r) => r.path)).toEqual([primary, mirror]);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/asked to come back in 60 minutes/) });
  });

  it('gives up, saying when to come back, when the one mirror not busy serves other bytes of the pinned size (it had hung at 100% CPU)', async () => {
    const [busy, wrong] = [await servedPath(), await servedPath()];
    server.fault(busy, { kind: 'retry-after', seconds: 600, status: 503 });
    server.fault(wrong, { kind: 'wrong-bytes' });
    const failed = await fetchTo(busy, { urls: [`${server.url}${busy}`, `${server.url}${wrong}`] }).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/asked to come back in 10 minutes/) });
    expect(server.requests.filter((r) => r.path === busy || r.path === wrong).map((r) => r.path)).toEqual([busy, wrong]);
  });

  it("keeps nothing of a network's sign-in page (a captive portal's 200 text/html) and downloads the app once the network lets it through", async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'login-page' }, { kind: 'login-page' });
    const { dest, result } = await fetchTo(path);
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    // The page's bytes were never taken for the app's first bytes: the real answer is asked for from byte 0.
    expect(reqs.map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    expect(result.fetched).toBe(SIZE);
  });

  // A hotel network that refuses every connection to one mirror and answers the other with its sign-in page, until the
  // user signs in: the refused one asked last had said "check the network connection".
  it('says to sign in to the network when one mirror shows its sign-in page, though another that cannot be reached was asked last', async () => {
    const path = await servedPath();
    server.fault(path, ...Array.from({ length: 5 }, () => ({ kind: 'login-page' as const })));
    const urls = ['http://127.0.0.1:1/mirror/app.zip', `${server.url}${path}`];
    const failed = await fetchTo(path, { urls, retries: 2, backoffBaseMs: 1 }).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/^sign in to this network/) });
  });

  it('gives up on a network that keeps answering with its sign-in page, saying to sign in there, keeping nothing', async () => {
    const path = await servedPath();
    server.fault(path, ...Array.from({ length: 5 }, () => ({ kind: 'login-page' }) as const));
    const failed = await fetchTo(path, { retries: 2 }).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/HTML page.*nothing was kept/) });
    expect((failed as { fix: string }).fix).toMatch(/sign in to this network in a web browser/);
    expect((failed as { fix: string }).fix).not.toMatch(/resume/);
    // The status a captive portal should send (RFC 6585): the same advice.
    const portal = await servedPath();
    server.fault(portal, ...Array.from({ length: 5 }, () => ({ kind: 'status', status: 511 }) as const));
    const refused = await fetchTo(portal, { retries: 2 }).catch((err: unknown) => err);
    expect((refused as { fix: string }).fix).toMatch(/sign in to this network in a web browser/);
  });

  // A gateway that labels its page `Content-Encoding: gzip` over plain HTML: each attempt had died on "incorrect header
  // check", and the give-up said to check the network connection, never to sign in.
  // A page saved with a UTF-8 byte order mark (Windows editors write one) too: it had been "incorrect header check".
  it('says to sign in when the sign-in page comes labelled gzip over plain HTML, with or without a byte order mark', async () => {
    for (const body of [undefined, BOM_PAGE]) {
      const path = await servedPath();
      server.fault(path, ...Array.from({ length: 5 }, () => ({ kind: 'login-page', contentEncoding: 'gzip', body }) as const));
      const failed = await fetchTo(path, { retries: 2 }).catch((err: unknown) => err);
      expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/^sign in to this network in a web browser/) });
    }
  });

  // An XHTML sign-in page (older hotspot gateways serve one): `application/xhtml+xml`, or no HTML type at all and a
  // `<?xml ...?>` prolog before its doctype. It had been kept as the app's first bytes, and the whole download failed its hash.
  it('keeps nothing of an XHTML sign-in page, whether it says application/xhtml+xml or nothing, and downloads the app whole once signed in', async () => {
    const path = await servedPath();
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n' +
      '<html xmlns="http://www.w3.org/1999/xhtml"><body><form action="/login">Sign in to the hotel Wi-Fi</form></body></html>\n';
    server.fault(
      path,
      { kind: 'login-page', contentType: 'application/xhtml+xml; charset=utf-8', body },
      ...Array.from({ length: 2 }, () => ({ kind: 'login-page', contentType: '', body }) as const),
    );
    const options = await giveUpAfterThree(path);
    const { dest } = options;
    const failed = await download(options).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/HTML page.*nothing was kept/) });
    expect((failed as { fix: string }).fix).toMatch(/sign in to this network in a web browser/);
    expect(existsSync(partialPath(dest))).toBe(false);
    const result = await download(options);
    await expectGood(dest);
    expect(result.fetched).toBe(SIZE);
  });

  // A laptop waking up on the hotel's network, whose sign-in has expired: the resume is answered 200 with the page.
  // A mirror's download script that sets no Content-Type (PHP's default is text/html): the app was refused as a sign-in
  // page at every attempt, then the user told to sign in to the network, for good.
  it('downloads the app from a server that labels it text/html, knowing it by its first bytes, and still keeps nothing of a page so labelled', async () => {
    const { path, pin } = await servedZipLike('labelled.zip');
    // As such a script answers every request (a fault is spent per request).
    const labelled = Array.from({ length: 10 }, () => ({ kind: 'content-type' as const, value: 'text/html; charset=UTF-8' }));
    server.fault(path, { kind: 'login-page' }, ...labelled);
    const dest = join(await tempDir('dl'), 'app.zip');
    await download({ urls: [`${server.url}${path}`], dest, ...pin, backoffBaseMs: 10, stallTimeoutMs: 2_000 });
    expect((await digestFile(partialPath(dest))).integrity).toBe(pin.integrity);
    expect(server.requests.filter((r) => r.path === path).map((r) => r.range)).toEqual([undefined, undefined]);
  });

  // Such a script honours Range too: its resume is a 206 so labelled, which had been refused as a sign-in page at every
  // attempt and every later run, and 1 MiB kept for a resume that never came.
  it('resumes an interrupted download from a server that labels the app text/html', async () => {
    const { path, pin } = await servedZipLike('labelled-resumed.zip');
    const html = 'text/html; charset=UTF-8';
    const dropAt = 1 << 20;
    server.fault(
      path,
      { kind: 'drop', afterBytes: dropAt, contentType: html },
      ...Array.from({ length: 10 }, () => ({ kind: 'content-type' as const, value: html })),
    );
    const dest = join(await tempDir('dl'), 'app.zip');
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pin, backoffBaseMs: 10, stallTimeoutMs: 2_000 });
    expect((await digestFile(partialPath(dest))).integrity).toBe(pin.integrity);
    expect(result.resumedFrom).toBe(0);
    expect(server.requests.filter((r) => r.path === path).map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      [`bytes=${dropAt}-`, 206],
    ]);
  });

  it('keeps the bytes already downloaded when a resume is answered with a sign-in page that does not say it is HTML, and resumes after them', async () => {
    const path = await servedPath();
    const dropAt = 1 << 20;
    server.fault(path, { kind: 'drop', afterBytes: dropAt }, ...Array.from({ length: 3 }, () => ({ kind: 'login-page', contentType: '' }) as const));
    const options = await giveUpAfterThree(path);
    const { dest } = options;
    const failed = await download(options).catch((err: unknown) => err);
    expect((failed as { fix: string }).fix).toMatch(/sign in to this network in a web browser.*it resumes/);
    const kept = (await stat(partialPath(dest))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(dropAt);
    // Signed in: the rest only.
    const result = await download(options);
    await expectGood(dest);
    expect(result).toMatchObject({ resumedFrom: kept, fetched: SIZE - kept });
    expect(server.requests.filter((r) => r.path === path).at(-1)).toMatchObject({ status: 206, range: `bytes=${kept}-` });
  });

  it('keeps nothing of a sign-in page that does not say it is HTML, so the next run downloads the app whole instead of splicing it onto the page', async () => {
    const path = await servedPath();
    // No Content-Type, then application/octet-stream: the page is known by its first bytes only, a byte order mark's too
    // (it had been kept as the app's first bytes).
    server.fault(
      path,
      { kind: 'login-page', contentType: '' },
      { kind: 'login-page', contentType: '', body: BOM_PAGE },
      { kind: 'login-page', contentType: 'application/octet-stream' },
    );
    const options = await giveUpAfterThree(path);
    const { dest } = options;
    const failed = await download(options).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/HTML page.*nothing was kept/) });
    expect((failed as { fix: string }).fix).toMatch(/sign in to this network in a web browser/);
    expect(existsSync(partialPath(dest))).toBe(false);
    // Signed in: the app, from byte 0, on the first try.
    const result = await download(options);
    await expectGood(dest);
    expect(result.fetched).toBe(SIZE);
    expect(server.requests.filter((r) => r.path === path).map((r) => [r.fault, r.range])).toEqual([
      ['login-page', undefined],
      ['login-page', undefined],
      ['login-page', undefined],
      [undefined, undefined],
    ]);
  });

  it('decodes a body sent with Content-Encoding: gzip although identity was asked, and starts over when a resume comes back compressed', async () => {
    const whole = await servedPath();
    server.fault(whole, { kind: 'gzip' });
    await expectGood((await fetchTo(whole)).dest);
    expect(server.requests.filter((r) => r.path === whole)).toHaveLength(1);

    const resumed = await servedPath();
    server.fault(resumed, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'gzip' }, { kind: 'gzip' });
    await expectGood((await fetchTo(resumed)).dest);
    // A range of the compressed bytes is no range of the file: the next request starts from byte 0.
    expect(server.requests.filter((r) => r.path === resumed).map((r) => [r.status, r.range === undefined])).toEqual([
      [200, true],
      [206, false],
      [200, true],
    ]);
  });

  // A proxy or download script compressing on the fly (PHP's zlib.output_compression) answers a resume with the range
  // asked, gzip-compressed, under that range's own Content-Range (the file's positions and size). Its compressed bytes
  // had been taken as the file's, every resume ended early, and 21 requests later the download failed its pin (EINTEGRITY).
  it("resumes through a proxy that gzips each answer on the fly, decoding a resume's compressed range, with or without a Content-Length", async () => {
    for (const chunked of [false, true]) {
      const path = await servedPath();
      server.fault(path, { kind: 'drop', afterBytes: 1 << 20 }, ...Array.from({ length: 10 }, () => ({ kind: 'gzip', onTheFly: true, chunked }) as const));
      const { dest, result } = await fetchTo(path);
      await expectGood(dest);
      // The bytes kept are resumed: the compressed range, decoded, is the rest of the file.
      expect(server.requests.filter((r) => r.path === path).map((r) => [r.status, r.range])).toEqual([
        [200, undefined],
        [206, `bytes=${1 << 20}-`],
      ]);
      expect(result.fetched).toBe(SIZE);
    }
  });

  // A mirror or CDN whose metadata says `Content-Encoding: gzip` over the file's own bytes (an object uploaded with that
  // header, a server that labels every download so): each attempt had died on "incorrect header check", seven in a row,
  // then the user was told to check the network connection, for good.
  it('takes a body labelled Content-Encoding: gzip whose bytes are the file itself, and resumes it', async () => {
    const { path, pin } = await servedZipLike('mislabelled.zip');
    // As such a mirror answers every request (a fault is spent per request): the first cut after 1 MiB.
    server.fault(
      path,
      { kind: 'drop', afterBytes: 1 << 20, contentEncoding: 'gzip' },
      ...Array.from({ length: 10 }, () => ({ kind: 'content-encoding' as const, value: 'gzip' })),
    );
    const dest = join(await tempDir('dl'), 'app.zip');
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pin, backoffBaseMs: 10, stallTimeoutMs: 2_000 });
    expect((await digestFile(partialPath(dest))).integrity).toBe(pin.integrity);
    // The resume is a 206 of the file's own bytes under the same label: the rest of it, not a range of a compressed file.
    expect(server.requests.filter((r) => r.path === path).map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [206, `bytes=${1 << 20}-`],
    ]);
    expect(result.fetched).toBe(pin.size);
  });

  // A download script or object store that puts the wrong thing in the header (`Content-Encoding: binary`, a charset like
  // `utf-8`): every other client (curl, wget, browsers) keeps such bytes as they are, where ao-app had dropped the only URL
  // at once, "cannot decode", and told the user to report it to the ao maintainers.
  it('keeps the file itself under a Content-Encoding it does not know, and drops a URL whose body so labelled is no file it knows', async () => {
    for (const value of ['binary', 'utf-8']) {
      const { path, pin } = await servedZipLike(`labelled-${value}.zip`);
      server.fault(path, { kind: 'content-encoding', value });
      const dest = join(await tempDir('dl'), 'app.zip');
      await download({ urls: [`${server.url}${path}`], dest, ...pin, backoffBaseMs: 10, stallTimeoutMs: 2_000, retries: 0 });
      expect((await digestFile(partialPath(dest))).integrity).toBe(pin.integrity);
    }
    // The padding starts like no artifact: a body in a coding ao-app cannot decode is what that URL serves.
    const path = await servedPath();
    server.fault(path, { kind: 'content-encoding', value: 'zstd' });
    const failed = await fetchTo(path).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringContaining('Content-Encoding: zstd, which ao-app cannot decode') });
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
  });

  // Apache's `AddEncoding x-gzip .gz .tgz` (and some object stores) label a .tar.gz with its own compression: decoded, the
  // body is the tar inside, which had failed the pin after the whole download (EINTEGRITY, "the download host or a proxy
  // is serving the wrong file"), at every run.
  it('keeps a tar.gz served with Content-Encoding: x-gzip naming its own compression as it is', async () => {
    const tree = await tempDir('dl-tar');
    await writeFile(join(tree, 'app.bin'), await readFile(source));
    const tgz = join(await tempDir('dl-src'), 'app.tar.gz');
    execFileSync('tar', ['czf', tgz, '-C', tree, 'app.bin']);
    const pin = await digestFile(tgz);
    const path = `/case-${++n}/app.tar.gz`;
    await server.serve(path, tgz);
    server.fault(path, { kind: 'content-encoding', value: 'x-gzip' });
    const dest = join(await tempDir('dl'), 'app.tar.gz');
    await download({ urls: [`${server.url}${path}`], dest, ...pin, backoffBaseMs: 10, stallTimeoutMs: 2_000, retries: 0 });
    expect((await digestFile(partialPath(dest))).integrity).toBe(pin.integrity);
  });

  it('starts over cleanly when the server ignores Range and answers 200', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'ignore-range' });
    const { dest } = await fetchTo(path);
    await expectGood(dest);
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([200, 200]);
  });

  // The restart came first, and the message then named the offset it had just reset: "does not start at 0".
  it('starts over when a resume is answered with a range starting elsewhere, naming the offset it asked for', async () => {
    const path = await servedPath();
    const dest = join(await tempDir('dl'), 'app.zip');
    const urls = [`${server.url}${path}`];
    // An earlier run cut short: its partial is what this one resumes.
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 });
    await expect(download({ urls, dest, ...pinned, retries: 0, backoffBaseMs: 10, stallTimeoutMs: 2_000 })).rejects.toThrow();
    server.fault(path, { kind: 'range-shifted', by: 1 });
    const said: string[] = [];
    const progress = { start: () => undefined, advance: () => undefined, finish: () => undefined, fail: () => undefined, waiting: (m: string) => said.push(m) };
    // A wait of at least 1 s, so it is said.
    await download({ urls, dest, ...pinned, progress, backoffBaseMs: 2_000, stallTimeoutMs: 2_000 });
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    const askedAt = Number(/bytes=(\d+)-/.exec(reqs[1]!.range ?? '')?.[1]);
    expect(askedAt).toBeGreaterThan(0);
    expect(said).toEqual([expect.stringContaining(`sent a range that does not start at ${askedAt};`)]);
    expect(reqs.map((r) => [r.status, r.range === undefined])).toEqual([
      [200, true],
      [206, false],
      [200, true],
    ]);
  });

  // Every resume came back so, every run: the URL was dropped as holding a file of another size, and a download once
  // interrupted could never finish from it.
  it('resumes from a server that answers a resume with the rest under status 200, its Content-Range saying where it starts', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'range-as-200' });
    const { dest } = await fetchTo(path);
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    expect(reqs.map((r) => r.status)).toEqual([200, 200]);
    const resumedAt = Number(/bytes=(\d+)-/.exec(reqs[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(reqs[1]!.bytesSent).toBe(SIZE - resumedAt);
  });

  // RFC 9110 range units are case-insensitive: a server writing `Bytes` had every resume thrown away and started over.
  it('resumes from a server that spells the Content-Range unit in capitals (Bytes 1048576-.../...)', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'range-unit', unit: 'Bytes' });
    const { dest, result } = await fetchTo(path);
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(result.fetched).toBe(SIZE);
  });

  it('keeps the bytes when the same URL answers a resume under another ETag (another edge of a CDN, a re-upload of the same bytes): the pinned sha512 judges them', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 }, { kind: 'change-etag' });
    const { dest, result } = await fetchTo(path);
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    // If-Range saw another ETag and the whole file came back: it is asked again for the rest, without If-Range.
    expect(reqs.map((r) => [r.status, r.range, r.ifRange !== undefined])).toEqual([
      [200, undefined, false],
      [200, 'bytes=1048576-', true],
      [206, 'bytes=1048576-', false],
    ]);
    // Before, every byte kept was thrown away: on a network dropping every few MB behind such a CDN, no resume ever held.
    expect(result.fetched).toBe(SIZE);
  });

  it('resumes from a server whose ETag is weak (W/"...", as Express serves files), sending If-Range a validator it can match', async () => {
    const path = `/case-${++n}/app.zip`;
    await server.serve(path, source, { weakEtag: true });
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 });
    const { dest } = await fetchTo(path);
    await expectGood(dest);
    const reqs = server.requests.filter((r) => r.path === path);
    // A weak ETag in If-Range never matches (RFC 9110 forbids sending one): every resume started over from byte 0.
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1]!.ifRange).toBeTruthy();
    expect(reqs[1]!.ifRange).not.toMatch(/^W\//);
  });

  it('sends the user and password of a URL (a private mirror, https://user:token@host/) as HTTP Basic, and not to another host it redirects to', async () => {
    const path = `/case-${++n}/app.zip`;
    await server.serve(path, source, { basicAuth: 'alice:s3cr3t/+' });
    const withCredentials = server.url.replace('http://', 'http://alice:s3cr3t%2F%2B@');
    await expectGood((await fetchTo(path, { urls: [`${withCredentials}${path}`] })).dest);
    // undici drops a URL's credentials: the mirror answered 401 and was given up as "does not serve this file".
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([200]);

    // A "%" that starts no escape (a token holding one) is sent as it is, not a URIError on every attempt.
    const percent = `/case-${++n}/app.zip`;
    await server.serve(percent, source, { basicAuth: 'bob:50%off' });
    await expectGood((await fetchTo(percent, { urls: [`${server.url.replace('http://', 'http://bob:50%off@')}${percent}`] })).dest);

    // Another origin (another port): the credentials stay behind.
    const other = await startFaultServer();
    try {
      await other.serve('/app.zip', source);
      const hop = `/case-${++n}/hop.zip`;
      server.redirect(hop, `${other.url}/app.zip`);
      await expectGood((await fetchTo(hop, { urls: [`${withCredentials}${hop}`] })).dest);
      expect(server.requests.find((r) => r.path === hop)?.authorization).toMatch(/^Basic /);
      expect(other.requests.map((r) => r.authorization)).toEqual([undefined]);
    } finally {
      await other.close();
    }
  });

  it.runIf(process.platform !== 'win32')('keeps the resume sidecar, which names the URL with its credentials, readable by its owner only', async () => {
    const path = `/case-${++n}/app.zip`;
    await server.serve(path, source, { basicAuth: 'alice:s3cr3t' });
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 });
    const { dest } = await fetchTo(path, { urls: [`${server.url.replace('http://', 'http://alice:s3cr3t@')}${path}`] });
    // The download is kept (with its sidecar) until the install commits; a crash or Ctrl-C leaves both behind.
    expect(await readFile(sidecarPath(dest), 'utf8')).toContain('s3cr3t');
    expect((await stat(sidecarPath(dest))).mode & 0o777).toBe(0o600);
  });

  it('says a mirror wants credentials when it answers 401, instead of blaming the release', async () => {
    const path = `/case-${++n}/app.zip`;
    await server.serve(path, source, { basicAuth: 'alice:s3cr3t' });
    const failed = await fetchTo(path).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/401/) });
    expect((failed as { fix: string }).fix).toMatch(/asks for credentials.*AO_APP_BASE_URL=https:\/\/<user>:<token>@/);
    expect((failed as { fix: string }).fix).not.toMatch(/maintainers/);
  });

  it.runIf(hasOpenssl)(
    'stops at once on a certificate it cannot trust (a proxy inspecting HTTPS), naming NODE_EXTRA_CA_CERTS, not retrying as the network',
    async () => {
      const dir = await tempDir('tls');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const tls = createHttpsServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (_req, res) => res.end());
      let connections = 0;
      tls.on('connection', () => connections++);
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      try {
        const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/app.zip`;
        const failed = await fetchTo('/unused', { urls: [url] }).catch((err: unknown) => err);
        expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/self-signed certificate/) });
        expect((failed as { fix: string }).fix).toMatch(/NODE_EXTRA_CA_CERTS/);
        // No retry changes a certificate: it was asked seven times, then blamed on "the network connection".
        expect(connections).toBe(1);
      } finally {
        tls.closeAllConnections();
        await new Promise((resolve) => tls.close(resolve));
      }
    },
  );

  it('survives a Content-Length that lies in either direction', async () => {
    const longer = await servedPath();
    server.fault(longer, { kind: 'lie-length', by: 1000 });
    await expectGood((await fetchTo(longer)).dest);
    const shorter = await servedPath();
    server.fault(shorter, { kind: 'lie-length', by: -1000 });
    await expectGood((await fetchTo(shorter)).dest);
    expect(server.requests.filter((r) => r.path === shorter).at(-1)?.range).toBe(`bytes=${SIZE - 1000}-`);
  });

  it('gives up at once on a URL serving an empty file (an upload that never finished), not blaming the network, and takes the file from the next mirror', async () => {
    const empty = join(await tempDir('dl-src'), 'empty.zip');
    await writeFile(empty, '');
    const path = `/case-${++n}/empty.zip`;
    await server.serve(path, empty);
    const failed = await fetchTo(path).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/holds 0 bytes, but the release pins/) });
    expect((failed as { fix: string }).fix).not.toMatch(/network/);
    // It had been asked seven times over ~30 s (with the default backoff), then blamed on "the network connection".
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
    const good = await servedPath();
    await expectGood((await fetchTo(path, { urls: [`${server.url}${path}`, `${server.url}${good}`] })).dest);
  });

  it('reads a Content-Encoding header naming no coding (an empty value, "none") as the file itself, where it had dropped the only URL', async () => {
    for (const value of ['', 'none']) {
      const path = await servedPath();
      server.fault(path, { kind: 'content-encoding', value });
      await expectGood((await fetchTo(path)).dest);
    }
  });

  it('finishes from a server that answers each resume with a slice of the rest (a 206 ending before the file does), counting no slice as a failure', async () => {
    const path = `/case-${++n}/app.zip`;
    const slice = 64 << 10;
    await server.serve(path, source, { rangeCap: slice });
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 });
    // Each slice had been "ended the body early": a failed attempt, a backoff, and a request that brought under 256 KiB,
    // so the request budget ended the download after a few slices (40 by default: 2.5 MB of a 254 MB app).
    const { dest } = await fetchTo(path, { maxFruitlessRequests: 5 });
    await expectGood(dest);
    expect(server.requests.filter((r) => r.path === path && r.status === 206).length).toBeGreaterThanOrEqual(Math.ceil((SIZE - (1 << 20)) / slice));
  });

  it('gives up within the request budget on a server whose every resume is an empty slice (a 206 of 0 bytes), not after hours of requests', async () => {
    const path = `/case-${++n}/app.zip`;
    await server.serve(path, source, { rangeCap: 0 });
    server.fault(path, { kind: 'drop', afterBytes: 1 << 20 });
    const err = await fetchTo(path, { maxFruitlessRequests: 5, deadlineMs: 30_000 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/gave up after 5 requests that brought less than 256 KiB each;/) });
    // The first request and one for each of the five fruitless ones (an empty slice had counted as progress: hundreds a second).
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(6);
  });

  it('follows a redirect chain and rotates to a mirror when a redirect loops', async () => {
    const path = await servedPath();
    server.redirect('/chain-1', '/chain-2');
    server.redirect('/chain-2', path);
    await expectGood((await fetchTo('/chain-1')).dest);

    server.redirect('/loop-a', '/loop-b');
    server.redirect('/loop-b', '/loop-a');
    const dest = join(await tempDir('dl'), 'app.zip');
    await download({ urls: [`${server.url}/loop-a`, `${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10 });
    await expectGood(dest);
  });

  it('gives up on a redirect loop with a clear error', async () => {
    server.redirect('/only-loop-a', '/only-loop-b');
    server.redirect('/only-loop-b', '/only-loop-a');
    await expect(fetchTo('/only-loop-a')).rejects.toMatchObject({ code: 'EAPPDOWNLOAD', message: expect.stringMatching(/loop/) });
    expect(server.requests.filter((r) => r.path === '/only-loop-a')).toHaveLength(1);
  });

  it('leaves a mirror that trickles (under 1 KiB in a stall window) for the next one, and resumes there', async () => {
    const slow = await servedPath();
    const good = await servedPath();
    server.fault(slow, { kind: 'trickle', bytesPerSecond: 200 });
    const started = Date.now();
    const { dest, result } = await fetchTo(slow, { urls: [`${server.url}${slow}`, `${server.url}${good}`], stallTimeoutMs: 1_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.url).toBe(`${server.url}${good}`);
    expect(server.requests.filter((r) => r.path === good)).toHaveLength(1);
    expect(await digestFile(partialPath(dest))).toEqual(pinned);
  }, 30_000);

  // The first KiB of a body labelled Content-Encoding: gzip is read before deciding whether to decode it: a mirror trickling
  // such a body had held each attempt until that KiB came (51 s at 20 B/s, ~17 minutes at 1 B/s), the stall rule unread.
  it('leaves a mirror that trickles a body labelled Content-Encoding: gzip within the stall time, as one that trickles any body', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'trickle', bytesPerSecond: 20, contentEncoding: 'gzip' });
    // Far more than the stall rule takes (a second), far less than the 51 s the KiB takes to come.
    const { dest } = await fetchTo(path, { stallTimeoutMs: 1_000, deadlineMs: 20_000 });
    await expectGood(dest);
    expect(server.requests.filter((r) => r.path === path).map((r) => r.fault)).toEqual(['trickle', undefined]);
  }, 30_000);

  // A body that trickles in never trips the idle timeout; one fast enough for the stall rule meets the overall deadline.
  // Its fix is a command for the user's shell: cmd.exe has no `NAME=value command` ("'AO_APP_DEADLINE_MS' is not recognized").
  it.each([
    ['linux', /run, which resumes: export AO_APP_DEADLINE_MS=14400000, then run the same ao-app command again$/],
    ['win32', /run, which resumes: set "AO_APP_DEADLINE_MS=14400000", then run the same ao-app command again$/],
  ])(
    'the overall deadline also ends an attempt whose body is still trickling in, keeping what arrived (fix for %s)',
    async (platform, command) => {
      const path = await servedPath();
      // 5 KB/s: fast enough for the stall rule (1 KiB a window), far too slow to finish 3 MiB before the deadline.
      server.fault(path, { kind: 'trickle', bytesPerSecond: 5_000 });
      const started = Date.now();
      const failure = fetchTo(path, { deadlineMs: 1_500, stallTimeoutMs: 1_000, platform });
      // A link that works, only too slowly for the deadline (a hotel's Wi-Fi: 254 MB at 30 KB/s takes over 2 hours): the fix
      // had been "check the network connection", never the setting that gives a slow link its time.
      await expect(failure).rejects.toMatchObject({
        code: 'EAPPDOWNLOAD',
        message: expect.stringMatching(/overall deadline.*bytes kept for the next run/),
        fix: expect.stringMatching(/on a slow link, raise AO_APP_DEADLINE_MS \(now 1500 ms\) for the next/),
      });
      await expect(failure).rejects.toMatchObject({ fix: expect.stringMatching(command) });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
    },
    20_000,
  );

  // A proxy that fetches and scans the whole file before it answers (a corporate antivirus proxy) is silent for longer than
  // the stall time at every attempt: the give-up had said only to check the network or the proxy, never which setting waits longer.
  it('gives up on a host that never answers within the stall time saying to raise AO_APP_STALL_MS', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/app.zip`;
      const failure = download({ urls: [url], dest: join(await tempDir('dl'), 'app.zip'), ...pinned, backoffBaseMs: 1, stallTimeoutMs: 200, retries: 1 });
      await expect(failure).rejects.toMatchObject({
        code: 'EAPPDOWNLOAD',
        why: expect.stringContaining('did not answer within 200 ms'),
        fix: expect.stringMatching(/raise AO_APP_STALL_MS \(now 200 ms\)/),
      });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  // "Never give up" spelled as a big number (AO_APP_STALL_MS and AO_APP_DEADLINE_MS of 30 days, on a slow hotel link):
  // past 2^31-1 ms, Node fires a timer after 1 ms, so every attempt was cut at once, "did not answer within 2592000000 ms".
  it('downloads with a stall timeout and deadline past what a timer holds (30 days), instead of cutting every attempt at once', async () => {
    const path = await servedPath();
    const { dest } = await fetchTo(path, { stallTimeoutMs: 2_592_000_000, deadlineMs: 2_592_000_000 });
    await expectGood(dest);
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
  });

  for (const to of ['file:///etc/passwd', 'ftp://127.0.0.1/app.zip', 'http://[::1']) {
    it(`drops a URL at once when it redirects to ${to}, which no retry can fetch`, async () => {
      const path = await servedPath();
      server.fault(path, { kind: 'redirect', to });
      const started = Date.now();
      await expect(fetchTo(path, { backoffBaseMs: 2_000 })).rejects.toMatchObject({
        code: 'EAPPDOWNLOAD',
        message: expect.stringMatching(/redirects to .* not an http\(s\) URL/),
        fix: expect.stringMatching(/report it to the ao maintainers/),
      });
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
    });
  }

  for (const status of [204, 304, 999]) {
    it(`drops a URL at once when it answers ${status}, which no retry changes`, async () => {
      const path = await servedPath();
      server.fault(path, { kind: 'status', status });
      const started = Date.now();
      await expect(fetchTo(path, { backoffBaseMs: 2_000 })).rejects.toMatchObject({
        code: 'EAPPDOWNLOAD',
        message: expect.stringMatching(new RegExp(`answered ${status}`)),
      });
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
    });
  }

  // A redirect to nowhere is what the URL serves (a misconfigured mirror or CDN rule): it had been retried as if it might pass.
  for (const status of [301, 302, 307]) {
    it(`drops a URL at once when it answers ${status} without a Location, naming the URL and the status`, async () => {
      const path = await servedPath();
      server.fault(path, ...Array.from({ length: 8 }, () => ({ kind: 'status' as const, status })));
      await expect(fetchTo(path, { backoffBaseMs: 2_000 })).rejects.toMatchObject({
        code: 'EAPPDOWNLOAD',
        message: expect.stringContaining(`${server.url}${path} answered ${status} without a Location`),
      });
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
    });
  }

  it('fails at once, without retrying, when every mirror answers 404', async () => {
    const started = Date.now();
    await expect(fetchTo('/missing.zip', { backoffBaseMs: 2_000 })).rejects.toMatchObject({ code: 'EAPPDOWNLOAD', message: expect.stringMatching(/404/) });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(server.requests.filter((r) => r.path === '/missing.zip')).toHaveLength(1);
  });

  // The downloader read AO_APP_BASE_URL itself, though it does not know where its URLs came from: its caller says so.
  it('says to mend AO_APP_BASE_URL, not to report the release, when the URLs its caller made from it do not serve the file', async () => {
    await expect(fetchTo('/missing-mirror.zip', { fromBaseUrl: true })).rejects.toMatchObject({
      code: 'EAPPDOWNLOAD',
      fix: expect.stringMatching(/^AO_APP_BASE_URL is set, .* folder holding this release's files/),
    });
  });

  // A static host with a single-page app's fallback (any path answers its index.html, 200), or AO_APP_BASE_URL set to a
  // web page's address: every attempt is a page, and the give-up had said only to sign in to the network, which the user
  // on their own network cannot do: the setting that made the URL was never named.
  it('names AO_APP_BASE_URL beside the sign-in when the URL made from it answers a web page', async () => {
    const path = await servedPath();
    server.fault(path, ...Array.from({ length: 5 }, () => ({ kind: 'login-page' }) as const));
    const failed = await fetchTo(path, { retries: 2, fromBaseUrl: true }).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', fix: expect.stringMatching(/^sign in to this network in a web browser/) });
    expect((failed as { fix: string }).fix).toMatch(/AO_APP_BASE_URL .*folder holding this release's files/);
  });

  it('takes the file from the next mirror when the first serves other bytes of the pinned size', async () => {
    const bad = await servedPath();
    const good = await servedPath();
    server.fault(bad, { kind: 'wrong-bytes' }, { kind: 'wrong-bytes' });
    const { dest, result } = await fetchTo(bad, { urls: [`${server.url}${bad}`, `${server.url}${good}`] });
    await expectGood(dest);
    expect(result).toMatchObject({ resumedFrom: 0, url: `${server.url}${good}` });
    // The mirror that served other bytes is not asked again; the good one gives the whole file.
    expect(server.requests.filter((r) => r.path === bad)).toHaveLength(1);
    expect(server.requests.filter((r) => r.path === good).map((r) => [r.status, r.range])).toEqual([[200, undefined]]);
  });

  // AO_APP_BASE_URL naming a company mirror already moved on to the next release, under the same file names: the whole app
  // was downloaded, failed its pin, and the fix said to run the same command again (another whole download) and blamed
  // "the download host or a proxy", never the setting that chose the mirror; the announced size, another file's, went unsaid.
  it('says which setting to mend when AO_APP_BASE_URL serves another file under the same name, not to run it again', async () => {
    const next = join(await tempDir('dl-src'), 'next.zip');
    await writePadding(next, SIZE + (1 << 20));
    const path = `/case-${++n}/next-release/app.zip`;
    await server.serve(path, next);
    const failed = await fetchTo(path, { fromBaseUrl: true }).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EINTEGRITY', why: expect.stringContaining(`announced ${SIZE + (1 << 20)} bytes`) });
    expect((failed as { fix: string }).fix).toMatch(/^AO_APP_BASE_URL is set, .* folder holding this release's files/);
    expect((failed as { fix: string }).fix).not.toMatch(/run the same command again/);
    // The release's own host so moved on: said to report it.
    const own = await fetchTo(path).catch((err: unknown) => err);
    expect(own).toMatchObject({ code: 'EINTEGRITY', fix: expect.stringMatching(/^the release's download host serves another file under this name/) });
  });

  // A sign-in page's Content-Length (97 bytes here) had been recorded as the size the URL announced, and a
  // later pin failure of the app's size blamed "announced 97 bytes ... it serves another file under this name".
  it("does not take a sign-in page's Content-Length for the size of another file when the bytes later fail the pin", async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'login-page' }, { kind: 'wrong-bytes' });
    const failed = await fetchTo(path).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EINTEGRITY', fix: expect.stringMatching(/^run the same command again/) });
    expect((failed as { why: string }).why).not.toMatch(/announced/);
  });

  // A URL whose first answer announced a shorter file, then resumed with the pinned total (Content-Range): the bytes failed
  // the pin, and the message still said the URL "serves another file under this name", telling the user to report it.
  it('does not say a URL serves another file when its later answer announced the pinned size', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'lie-length', by: -1000 }, { kind: 'wrong-bytes' });
    const failed = await fetchTo(path).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 'EINTEGRITY', fix: expect.stringMatching(/^run the same command again/) });
    expect((failed as { why: string }).why).not.toMatch(/announced/);
  });

  // Other bytes of the pinned size from AO_APP_BASE_URL's mirror: a copy damaged on its way there, or a proxy that alters
  // downloads. The fix had said to point AO_APP_BASE_URL at a folder, not a file in it, which fits neither.
  it("says to run it again, then to mend the mirror's copy, when the URL made from AO_APP_BASE_URL serves other bytes of the pinned size", async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'wrong-bytes' });
    const failed = await fetchTo(path, { fromBaseUrl: true }).catch((err: unknown) => err);
    expect(failed).toMatchObject({
      code: 'EINTEGRITY',
      fix: expect.stringMatching(/^run the same command again; if it keeps failing, the mirror AO_APP_BASE_URL names .*its copy of this release/),
    });
    expect((failed as { fix: string }).fix).not.toMatch(/not to a file in it/);
  });

  it('discards wrong bytes and their sidecar', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'wrong-bytes' });
    const dest = join(await tempDir('dl'), 'app.zip');
    await expect(download({ urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10 })).rejects.toMatchObject({ code: 'EINTEGRITY' });
    expect(existsSync(partialPath(dest))).toBe(false);
    expect(existsSync(sidecarPath(dest))).toBe(false);
  });

  // The finished partial is not fsynced: what a power cut leaves in it must never pass for the artifact. The kept bytes,
  // not the server's, may be what is wrong (or a server with no ETag changed the file between runs): the whole file is
  // fetched once more in the same run. It had failed with EINTEGRITY, and only the next run downloaded it whole.
  it('downloads the whole file once more, in the same run, when a resumed partial fails the pinned hash', async () => {
    const path = await servedPath();
    const dest = join(await tempDir('dl'), 'app.zip');
    const kept = (await readFile(source)).subarray(0, SIZE / 2);
    kept[1000]! ^= 0xff;
    await writeFile(partialPath(dest), kept);
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${path}`, ...pinned }));
    const sentBefore = server.bytesSent(path);
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10 });
    expect(result).toMatchObject({ resumedFrom: 0 });
    expect(server.bytesSent(path) - sentBefore).toBe(SIZE / 2 + SIZE);
    expect(await digestFile(partialPath(dest))).toEqual(pinned);
  });

  // Fetched again from zero, the file's bytes before the kept offset had counted as no progress (progress counted only
  // past the furthest byte the resumed run reached): a connection that drops every 256 KiB gave up after `retries`.
  it('counts the whole file fetched again as progress from zero, on a connection that keeps dropping', async () => {
    const path = await servedPath();
    const dest = join(await tempDir('dl'), 'app.zip');
    const kept = (await readFile(source)).subarray(0, (SIZE / 10) * 9);
    kept[1000]! ^= 0xff;
    await writeFile(partialPath(dest), kept);
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${path}`, ...pinned }));
    // The resume's request runs whole (a drop past its end), then every request from zero drops after 256 KiB.
    server.fault(path, { kind: 'drop', afterBytes: SIZE }, ...Array.from({ length: 12 }, () => ({ kind: 'drop' as const, afterBytes: 256 << 10 })));
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10, retries: 6 });
    expect(result).toMatchObject({ resumedFrom: 0 });
    expect(await digestFile(partialPath(dest))).toEqual(pinned);
  });

  it('still refuses, once the whole file fetched again fails too, and discards it', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'wrong-bytes' }, { kind: 'wrong-bytes' });
    const dest = join(await tempDir('dl'), 'app.zip');
    await writeFile(partialPath(dest), (await readFile(source)).subarray(0, SIZE / 2));
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${path}`, ...pinned }));
    const sentBefore = server.bytesSent(path);
    await expect(download({ urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10 })).rejects.toMatchObject({ code: 'EINTEGRITY' });
    expect(server.bytesSent(path) - sentBefore).toBe(SIZE / 2 + SIZE);
    expect(existsSync(partialPath(dest))).toBe(false);
    expect(existsSync(sidecarPath(dest))).toBe(false);
  });

  it('goes through HTTPS_PROXY/HTTP_PROXY (CONNECT) unless NO_PROXY names the host', async () => {
    const connects: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req, client, head) => {
      connects.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const dispatchers: Array<ReturnType<typeof defaultDispatcher>> = [];
    const withEnv = (env: Record<string, string>) => {
      const saved = { ...process.env };
      for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) delete process.env[k];
      Object.assign(process.env, env);
      try {
        const dispatcher = defaultDispatcher();
        dispatchers.push(dispatcher);
        return dispatcher;
      } finally {
        for (const k of Object.keys(env)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    };
    try {
      const path = await servedPath();
      await expectGood((await fetchTo(path, { dispatcher: withEnv({ HTTP_PROXY: proxyUrl }) })).dest);
      expect(connects).toEqual([server.url.replace('http://', '')]);
      await expectGood((await fetchTo(path, { dispatcher: withEnv({ HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' }) })).dest);
      expect(connects).toHaveLength(1);
    } finally {
      // The agents' keep-alive sockets hold the CONNECT tunnels open, and proxy.close() waits for them (4 s).
      await Promise.all(dispatchers.map((d) => d.close()));
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('keeps off the proxy a subdomain of a NO_PROXY domain and an address in a NO_PROXY range, as curl, Go and npm read them', async () => {
    const connects: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req, client) => {
      connects.push(req.url ?? '');
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    // The environment is changed only while the dispatcher is made: the cases beside this one run at the same time.
    const dispatcherWith = (noProxy: string, url: string) => {
      const saved = { ...process.env };
      for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) delete process.env[k];
      Object.assign(process.env, { HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, NO_PROXY: noProxy });
      try {
        return defaultDispatcher([url]);
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    };
    const mirror = `${server.url}${await servedPath()}`;
    try {
      for (const [noProxy, url] of [
        ['localhost', 'http://mirror.localhost:9/app.zip'],
        ['LOCALHOST:9', 'http://mirror.localhost:9/app.zip'],
        ['.localhost', 'http://mirror.localhost:9/app.zip'],
        ['10.0.0.0/8, 127.0.0.0/8', mirror],
        // An IPv6 address as curl and Go take it, without brackets (the usual NO_PROXY=localhost,127.0.0.1,::1).
        ['localhost,127.0.0.1,::1', 'http://[::1]:9/app.zip'],
      ] as const) {
        const dispatcher = dispatcherWith(noProxy, url);
        // Direct, mirror.localhost may not resolve here: the outcome that counts is whether the proxy was asked.
        await request(url, { dispatcher }).then(
          (res) => res.body.dump(),
          () => undefined,
        );
        await dispatcher.destroy();
      }
      // undici matched a plain NO_PROXY domain exactly and no range at all: a private mirror on a subdomain of a
      // NO_PROXY domain, or on an address of a NO_PROXY range (NO_PROXY=10.0.0.0/8), went through the proxy; so did an
      // IPv6 URL whose address NO_PROXY names without brackets (undici read `::1` as host ":" and port 1).
      expect(connects).toEqual([]);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  // A sidecar hand-edited, or written by another tool, can be JSON of another shape: its ETag went into If-Range as it
  // was, and each attempt died of a TypeError until the request budget ran out.
  it('starts over from a sidecar that is JSON of another shape (an ETag that is no string), as from none', async () => {
    const path = await servedPath();
    const dest = join(await tempDir('dl'), 'app.zip');
    await writeFile(partialPath(dest), (await readFile(source)).subarray(0, SIZE / 2));
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${path}`, etag: 5, size: SIZE, integrity: pinned.integrity }));
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pinned, backoffBaseMs: 10 });
    expect(result).toMatchObject({ resumedFrom: 0, fetched: SIZE });
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([200]);
    await expectGood(dest);
  });

  it('reports resumedFrom 0 when a partial from an earlier run was thrown away (the server answered 200 with the whole file)', async () => {
    const path = await servedPath();
    server.fault(path, { kind: 'ignore-range' });
    const dest = join(await tempDir('dl'), 'app.zip');
    await writeFile(partialPath(dest), (await readFile(source)).subarray(0, SIZE / 2));
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${path}`, size: SIZE, integrity: pinned.integrity }));
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pinned });
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([200]);
    expect(result).toMatchObject({ resumedFrom: 0, fetched: SIZE });
    await expectGood(dest);
  });

  it('keeps an earlier run\'s bytes when their URL now holds a file of another size (a "latest" URL moved on), and resumes them from a mirror', async () => {
    const moved = `/case-${++n}/app.zip`;
    const next = join(await tempDir('dl-src'), 'next.zip');
    await writeFile(next, randomBytes(SIZE + 4096));
    await server.serve(moved, next);
    const mirror = await servedPath();
    const dest = join(await tempDir('dl'), 'app.zip');
    const kept = SIZE / 2;
    await writeFile(partialPath(dest), (await readFile(source)).subarray(0, kept));
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${moved}`, etag: '"0.10.0"', size: SIZE, integrity: pinned.integrity }));
    const result = await download({ urls: [`${server.url}${moved}`, `${server.url}${mirror}`], dest, ...pinned, backoffBaseMs: 10 });
    await expectGood(dest);
    // Its 200 (If-Range saw the next release) had been taken as a restart: the kept half thrown away for a file that can
    // never match the pin, downloaded to the pinned size, then refused, and the mirror asked for everything.
    expect(result.resumedFrom).toBe(kept);
    expect(server.bytesSent(mirror)).toBe(SIZE - kept);
  });

  it('does not promise a resume when it gives up having kept nothing', async () => {
    // A port nobody listens on: every attempt fails before a byte arrives.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const dest = join(await tempDir('dl'), 'app.zip');
    const failed = await download({ urls: [`http://127.0.0.1:${closed}/app.zip`], dest, ...pinned, retries: 2, backoffBaseMs: 10 }).catch(
      (err: unknown) => err,
    );
    expect(failed).toMatchObject({ code: 'EAPPDOWNLOAD', why: expect.stringMatching(/nothing was kept/) });
    expect((failed as { fix: string }).fix).not.toMatch(/resume/);
    expect((failed as { fix: string }).fix).toMatch(/run ao-app install again/);
  });

  it('resumes from a partial left by an earlier run, re-hashing it', async () => {
    const path = await servedPath();
    const dest = join(await tempDir('dl'), 'app.zip');
    const half = (await readFile(source)).subarray(0, SIZE / 2);
    await writeFile(partialPath(dest), half);
    await writeFile(sidecarPath(dest), JSON.stringify({ url: `${server.url}${path}`, size: SIZE, integrity: pinned.integrity }));
    const result = await download({ urls: [`${server.url}${path}`], dest, ...pinned });
    expect(result.resumedFrom).toBe(SIZE / 2);
    expect(server.bytesSent(path)).toBe(SIZE / 2);
    await expectGood(dest);
  });
});
