/**
 * Which URL to ask next and how long to wait first: retries with exponential backoff and jitter
 * (at least Retry-After, up to a cap), each failed attempt moving to the next mirror, URLs that
 * cannot work (404, a redirect loop, another file) dropped from the rotation, and the budgets:
 * failed attempts in a row without new bytes, requests that brought under 256 KiB in all (those that brought more
 * are free: a network that cuts every connection after a few MB still finishes), an overall deadline.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The overall deadline cut the attempt: the time ran out, not the host, so the failures before it still say what went wrong. */
export class DeadlineError extends RetryableError {}

/** Nothing, or under 1 KiB, came within the stall time (AO_APP_STALL_MS): a host or proxy that may only be slow. */
export class StallError extends RetryableError {}

/** This URL will not work however often it is asked (404, a redirect loop, another file): drop it from the rotation. */
export class DeadUrlError extends RetryableError {}

/** A URL that answered 401: it serves the file only to whoever signs in (a private mirror). */
export class CredentialsError extends DeadUrlError {}

/** The proxy answered 407: it lets nothing through without its user and password, however often it is asked. */
export class ProxyCredentialsError extends DeadUrlError {}

/** The proxy answered 403 to the tunnel: its policy does not let this host through, however often it is asked. */
export class ProxyRefusedError extends DeadUrlError {}

/** An HTTPS certificate this machine does not trust (a proxy inspecting HTTPS, a self-signed mirror): no retry changes it. */
export class CertificateError extends DeadUrlError {}

/**
 * A TLS handshake answered in plain HTTP: a proxy given as https:// that speaks plain HTTP (`proxy`), or a host or a
 * network's gateway answering so where HTTPS was asked. No retry changes it.
 */
export class PlainHttpError extends DeadUrlError {
  constructor(
    message: string,
    readonly proxy?: string,
  ) {
    super(message);
  }
}

/**
 * The host answered, but with an overload or failure status (408, 429, 5xx) worth asking again: the network reached it, so
 * a give-up on these blames the host, not the connection.
 */
export class HostAnsweredError extends RetryableError {
  constructor(
    message: string,
    readonly status: number,
    retryAfterMs?: number,
  ) {
    super(message, retryAfterMs);
  }
}

/** An HTML page where the app should be: a network's sign-in page (a captive portal) or a proxy's error page, gone once the user signs in. */
export class LoginPageError extends RetryableError {}

/** A wait as a person says it: "90 s", "20 minutes", "24 hours". */
export function humanWait(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} minutes`;
  return `${Math.round(s / 3600)} hours`;
}

/**
 * New bytes a failed request must bring to be free of the request budget: a network that cuts every connection
 * after a few MB finishes, one that drips a few KB per connection (or trickles) does not run to the deadline.
 */
const FREE_PROGRESS = 256 << 10;

const DEADLINE = 'the overall deadline (AO_APP_DEADLINE_MS)';

export interface MirrorLimits {
  /** Failed attempts in a row (without new bytes) before giving up. */
  retries: number;
  /** Requests that brought less than FREE_PROGRESS new bytes, in all, across mirrors and retries. */
  maxFruitlessRequests: number;
  /**
   * performance.now() after which no attempt starts: a monotonic clock, counting the time the download ran. The wall
   * clock jumps by hours when NTP steps a laptop's wrong clock or it wakes from a suspend, and had ended the download at once.
   */
  deadline: number;
  backoffBaseMs: number;
  /** Longest Retry-After honoured; longer waits fail the attempt instead. */
  maxRetryAfterMs: number;
}

export class MirrorPolicy {
  /** Failed attempts in a row without new bytes. */
  failures = 0;
  /** The last failure, as the user reads it. */
  lastError = '';
  /** Which budget ran out, when one did. */
  gaveUp = '';
  /** The last failure itself (its kind decides the fix the user reads). */
  lastFailure: unknown;
  /** The URL asked when it came, after any redirect (an http:// one goes through another proxy than an https:// one). */
  lastFailedUrl: string | undefined;
  /** Whether the overall deadline ended the download (an attempt it cut, or no time left for the next). */
  get deadlinePassed(): boolean {
    return this.gaveUp === DEADLINE;
  }
  /** The server's own Retry-After, when it asked for a longer wait than we give it and so ended the download. */
  comeBackInMs: number | undefined;
  private readonly dead = new Set<string>();
  /** URLs whose host asked to come back later than ao-app waits, and how long it asked: not asked again in this run. */
  private readonly busy = new Map<string, number>();
  /** performance.now() before which a URL's host asked not to be asked again (a Retry-After ao-app waits out). */
  private readonly notBefore = new Map<string, number>();
  /** Each URL's latest failure, the most recent last. */
  private readonly latest = new Map<string, unknown>();
  private mirror = 0;
  private fruitless = 0;
  // Progress counts only past the furthest point ever reached: re-fetching the same bytes forever is not progress.
  private furthest: number;
  private furthestBefore: number;

  constructor(
    readonly urls: string[],
    private readonly limits: MirrorLimits,
    startOffset: number,
  ) {
    this.furthest = startOffset;
    this.furthestBefore = startOffset;
  }

  /** Every URL is dead: the host does not serve the file as pinned. */
  get allDead(): boolean {
    // Every URL of this run: a partial's bytes may name a URL from an earlier run that is not among them.
    return this.urls.every((url) => this.dead.has(url));
  }

  /** Drops a URL from the rotation for good (it served a whole file of other bytes). */
  drop(url: string): void {
    this.dead.add(url);
  }

  private skipped(url: string): boolean {
    return this.dead.has(url) || this.busy.has(url);
  }

  /**
   * The most recent outage or overload answer (408, 429, 5xx) that is still the latest word of a URL in the rotation, and
   * that URL: the network reached that host the last time it was asked, whatever another mirror's failure said after it.
   */
  get hostAnswered(): { url: string; failure: HostAnsweredError } | undefined {
    return this.latestOfKind(HostAnsweredError);
  }

  /** The most recent sign-in page that is still the latest word of a URL in the rotation: a network that wants a sign-in first. */
  get loginPage(): { url: string; failure: LoginPageError } | undefined {
    return this.latestOfKind(LoginPageError);
  }

  private latestOfKind<T>(kind: abstract new (...args: never[]) => T): { url: string; failure: T } | undefined {
    const found = [...this.latest].filter(([url, failure]) => failure instanceof kind && !this.dead.has(url)).at(-1);
    return found === undefined ? undefined : { url: found[0], failure: found[1] as T };
  }

  msLeft(): number {
    return Math.max(0, this.limits.deadline - performance.now());
  }

  /** The URL for the next attempt, or undefined when a budget ran out (`gaveUp` says which). */
  next(): string | undefined {
    if (this.fruitless >= this.limits.maxFruitlessRequests) {
      this.gaveUp = `${this.fruitless} requests that brought less than ${FREE_PROGRESS >> 10} KiB each`;
      return undefined;
    }
    if (performance.now() > this.limits.deadline) {
      this.gaveUp = DEADLINE;
      return undefined;
    }
    // Every URL left is busy (the others dropped since: one served other bytes of the pinned size): upcoming() would look for
    // one to ask for ever, at 100% CPU.
    if (this.urls.every((u) => this.skipped(u))) {
      if (!this.allDead) this.busyUntilLater();
      return undefined;
    }
    this.furthestBefore = this.furthest;
    return this.upcoming();
  }

  /** Gives up on URLs that are all dropped or busy, saying when the soonest host asked to be asked again. */
  private busyUntilLater(): void {
    // Not the network's fault, nor worth more attempts: the hosts said when to come back.
    const soonest = Math.min(...this.busy.values());
    this.comeBackInMs = soonest;
    this.gaveUp = `its Retry-After: ${Math.round(soonest / 1000)} s, longer than the ${humanWait(this.limits.maxRetryAfterMs)} ao-app waits`;
  }

  /** The URL the next attempt asks: the one in turn, past those dropped or busy. */
  private upcoming(): string {
    while (this.skipped(this.urls[this.mirror % this.urls.length]!)) this.mirror++;
    return this.urls[this.mirror % this.urls.length]!;
  }

  /** The download starts over from zero on purpose (its whole bytes failed the pinned hash): what it fetches again is progress. */
  restarted(): void {
    this.furthest = 0;
    this.furthestBefore = 0;
    this.failures = 0;
  }

  /** After a failed attempt that left the download at `offset` (`hop`: the URL it was asking then, after any redirect): the wait before the next attempt, or undefined to stop. */
  failed(url: string, err: unknown, offset: number, hop = url): number | undefined {
    // The deadline's cut is not the host's word: recorded as the URL's latest failure, it hid a 503 before it, and the user
    // was told to check the network. Its message stands only when nothing failed before it (a body trickling in).
    if (err instanceof DeadlineError) {
      this.lastError ||= err.message;
      this.gaveUp = DEADLINE;
      return undefined;
    }
    this.lastError = err instanceof RetryableError ? err.message : `${url}: ${(err as Error).message}`;
    this.lastFailure = err;
    this.lastFailedUrl = hop;
    this.latest.delete(url);
    this.latest.set(url, err);
    this.furthest = Math.max(this.furthest, offset);
    const progressed = this.furthest > this.furthestBefore;
    // A URL dropped for good (a 404, another file) is asked once and never again: it spends neither budget, which are for
    // attempts that may go better next time. Counted, a release listing seven mirrors that lost the file before the one
    // that has it gave up at the seventh 404, "7 attempts in a row without progress".
    const dropped = err instanceof DeadUrlError;
    const retryAfter = err instanceof RetryableError ? err.retryAfterMs : undefined;
    // A host asking to come back later than ao-app waits is not asked again in this run: the next mirror at once. Asked
    // again without a wait (a CDN and its mirror both rate-limiting), they had been asked seven times in a fraction of a
    // second, and the user told to check the network. Nor does it spend the retry budget, as a dropped URL does not:
    // counted, five busy hosts of ten used it up and the last three were never asked.
    const comeBackLater = retryAfter !== undefined && retryAfter > this.limits.maxRetryAfterMs;
    if (!dropped && !comeBackLater) this.failures = progressed ? 1 : this.failures + 1;
    if (!dropped && this.furthest - this.furthestBefore < FREE_PROGRESS) this.fruitless++;
    if (dropped) this.dead.add(url);
    if (comeBackLater) this.busy.set(url, retryAfter);
    const now = performance.now();
    if (!comeBackLater && retryAfter !== undefined) this.notBefore.set(url, now + retryAfter);
    if (this.allDead) return undefined;
    if (this.urls.every((u) => this.skipped(u))) {
      this.busyUntilLater();
      return undefined;
    }
    // Every URL still in the rotation is asked at least once before giving up: with more mirrors than retries, those
    // listed last (the one that answers, past several a firewall blocks) had never been asked.
    const live = this.urls.filter((u) => !this.skipped(u)).length;
    if (this.failures > Math.max(this.limits.retries, live - 1)) {
      this.gaveUp = `${this.failures} attempts in a row without progress`;
      return undefined;
    }
    this.mirror++;
    if (comeBackLater) return 0;
    // The backoff doubles once per round of the mirrors still in the rotation, not per attempt: each host is asked again
    // as often as if it were the only one, and a list of mirrors that cannot be reached is not waited on for minutes.
    const rounds = Math.floor(Math.max(0, this.failures - 1) / Math.max(1, live));
    const backoff = Math.min(30_000, this.limits.backoffBaseMs * 2 ** rounds) * (0.5 + Math.random());
    // A Retry-After is its host's: the next mirror is asked after the backoff alone. Waited out whoever came next, a busy
    // primary had held a mirror that was never busy back for up to 2 minutes at every turn.
    // The same URL again waits exactly what it asked (now + 1000 - now is not always 1000 in floating point).
    const next = this.upcoming();
    const asked = next === url ? (retryAfter ?? 0) : (this.notBefore.get(next) ?? 0) - now;
    const wait = Math.max(asked, backoff);
    // A wait that runs to the deadline leaves no time for the attempt after it: given up now, on this failure. Waited out,
    // the attempt after it was cut at once, and the user read "did not answer" and "check the network" about a host that
    // had answered 503 every time.
    if (wait >= this.msLeft()) {
      this.gaveUp = DEADLINE;
      return undefined;
    }
    return wait;
  }
}
