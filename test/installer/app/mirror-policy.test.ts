import { describe, expect, it, vi } from 'vitest';
import { DeadlineError, DeadUrlError, HostAnsweredError, MirrorPolicy, RetryableError } from '../../../installer/app/mirror-policy.js';

const limits = { retries: 6, maxFruitlessRequests: 40, deadline: performance.now() + 3_600_000, backoffBaseMs: 1, maxRetryAfterMs: 120_000 };
const dropped = new Error('other side closed');

/** Attempts that each fail after bringing `step` new bytes, until the policy stops; how many it allowed. */
function attemptsAllowed(step: number, cap = 1000): number {
  const policy = new MirrorPolicy(['http://127.0.0.1/app.zip'], limits, 0);
  let offset = 0;
  for (let n = 0; n < cap; n++) {
    const url = policy.next();
    if (url === undefined) return n;
    offset += step;
    if (policy.failed(url, dropped, offset) === undefined) return n + 1;
  }
  return cap;
}

describe('the download budget', () => {
  it('never stops a download whose connections each bring a write batch or more, however many it takes', () => {
    // A network that cuts every connection after 512 KiB: 254 MB takes ~500 connections.
    expect(attemptsAllowed(512 << 10)).toBe(1000);
  });

  it('stops after 40 requests that each brought less than 256 KiB: a server dripping a few bytes a connection', () => {
    // Each request makes some progress, so the six-in-a-row rule never fires; before, the deadline (2 hours) was all that stopped it.
    const policy = new MirrorPolicy(['http://127.0.0.1/app.zip'], limits, 0);
    let offset = 0;
    let requests = 0;
    for (let url = policy.next(); url !== undefined && requests < 1000; url = policy.next()) {
      requests++;
      offset += 1000;
      if (policy.failed(url, dropped, offset) === undefined) break;
    }
    expect(requests).toBe(40);
    expect(policy.gaveUp).toBe('40 requests that brought less than 256 KiB each');
  });
});

describe('the overall deadline', () => {
  // A laptop whose clock was hours behind joins the hotel network and NTP steps it forward (or it wakes from a night's
  // sleep): the wall clock jumps, the download has not run any longer. It had given up at once, "the overall deadline".
  it('counts the time the download ran, not the wall clock, which a clock step or a suspend moves by hours', () => {
    const policy = new MirrorPolicy(['http://127.0.0.1/app.zip'], { ...limits, deadline: performance.now() + 2 * 3_600_000 }, 0);
    const stepped = Date.now() + 3 * 3_600_000;
    const now = vi.spyOn(Date, 'now').mockReturnValue(stepped);
    try {
      expect(policy.msLeft()).toBeGreaterThan(3_600_000);
      expect(policy.next()).toBe('http://127.0.0.1/app.zip');
    } finally {
      now.mockRestore();
    }
  });

  // The last wait left 1 ms before the deadline: the attempt after it started, the deadline cut it, and that cut became the
  // host's latest word, so the user read "check the network connection" about a host that had answered 503 every time.
  it("an outage outlasting the deadline is said to be the host's, not the deadline's cut of an attempt it had answered", () => {
    const url = 'http://127.0.0.1/app.zip';
    const start = performance.now();
    const clock = vi.spyOn(performance, 'now').mockReturnValue(start);
    try {
      const policy = new MirrorPolicy([url], { ...limits, deadline: start + 1_500 }, 0);
      const outage = () => new HostAnsweredError(`${url} answered 503`, 503, 1_000);
      expect(policy.next()).toBe(url);
      clock.mockReturnValue(start + 499);
      expect(policy.failed(url, outage(), 0)).toBe(1_000);
      clock.mockReturnValue(start + 1_499);
      expect(policy.next()).toBe(url);
      clock.mockReturnValue(start + 1_500);
      expect(policy.failed(url, new DeadlineError(`${url} had not finished when the overall deadline passed`), 0)).toBeUndefined();
      expect(policy.gaveUp).toBe('the overall deadline (AO_APP_DEADLINE_MS)');
      expect(policy.hostAnswered?.failure.status).toBe(503);
      expect(policy.lastError).toBe(`${url} answered 503`);
    } finally {
      clock.mockRestore();
    }
  });
});

describe('hosts that ask to come back later', () => {
  it('stops, saying when to come back, once every URL left asked for more than it waits (one mirror gone, the other busy)', () => {
    const [gone, busy] = ['http://127.0.0.1/a/app.zip', 'http://127.0.0.1/b/app.zip'];
    const policy = new MirrorPolicy([gone, busy], limits, 0);
    expect(policy.next()).toBe(gone);
    expect(policy.failed(gone, new DeadUrlError(`${gone} answered 404`), 0)).toBeGreaterThan(0);
    expect(policy.next()).toBe(busy);
    expect(policy.failed(busy, new RetryableError(`${busy} answered 429`, 3_600_000), 0)).toBeUndefined();
    expect(policy.comeBackInMs).toBe(3_600_000);
  });

  // Counted as failures in a row, five busy hosts used up the retry budget: h7 to h9 were never asked, and the user read
  // "7 attempts in a row without progress" about h4's 429, not when to come back.
  it('does not spend the retry budget on them: with 5 of 10 hosts busy for 10 minutes and 5 refusing, every host is asked', () => {
    const urls = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:1/h${i}/app.zip`);
    const policy = new MirrorPolicy(urls, limits, 0);
    const asked = new Set<string>();
    for (let url = policy.next(); url !== undefined; url = policy.next()) {
      asked.add(url);
      const i = urls.indexOf(url);
      const err = i < 5 ? new HostAnsweredError(`${url} answered 429`, 429, 600_000) : new RetryableError(`${url}: connect ECONNREFUSED`);
      if (policy.failed(url, err, 0) === undefined) break;
    }
    expect([...asked].sort()).toEqual([...urls].sort());
  });
});

describe('the backoff between mirrors', () => {
  // Doubled at every attempt, ten mirrors a firewall blocks were waited on for over a minute (30 s a turn by the last)
  // before the user heard anything; each host is now asked again as often as if it were the only one.
  it('doubles once per round of the mirrors, not per attempt: a first round of ten unreachable mirrors takes seconds', () => {
    const urls = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:1/m${i}/app.zip`);
    const policy = new MirrorPolicy(urls, { ...limits, backoffBaseMs: 500 }, 0);
    let waited = 0;
    for (let i = 0; i < 9; i++) waited += policy.failed(policy.next()!, new RetryableError('connect ECONNREFUSED'), 0)!;
    expect(waited).toBeLessThan(9 * 750 + 1);
  });
});
