/**
 * Progress for long operations: a redrawn bar on a TTY (bytes, rate, ETA), a
 * plain line every ~10% otherwise, NDJSON events with --json, nothing when quiet.
 * Node built-ins only: this ships inside @aoagents/ao.
 */
export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

/** What progress writes to: a stream, or a wrapper around one (ao-app's redacts URLs' secrets). */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  mode?: ProgressMode;
  /** Where the bar and plain lines go (stderr by default). */
  stream?: ProgressSink;
  /** Where --json events go (stdout by default). */
  jsonStream?: ProgressSink;
  now?: () => number;
}

export interface Progress {
  /** Bytes already there when the operation starts (a resumed download). */
  start(total: number | undefined, already?: number): void;
  /** `advance(0)` only redraws (a download's clock tick), so the bar can say that no data is coming. */
  advance(bytes: number): void;
  finish(message?: string): void;
  fail(message: string): void;
  /** Something holds the operation up before it starts (another process's lock): said once, so a long wait does not look like a hang. */
  waiting(message: string): void;
}

export function pickProgressMode(flags: { json?: boolean; quiet?: boolean }, stream: { isTTY?: boolean } = process.stderr): ProgressMode {
  if (flags.quiet) return 'quiet';
  if (flags.json) return 'json';
  // A dumb terminal (Emacs's shell, some consoles) prints escape codes as text: it gets plain lines.
  return stream.isTTY && !process.env.CI && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

/**
 * A pseudo-terminal nobody sized (`script` run from a script, `docker exec -t` before its first resize, a serial console)
 * reports 0 columns: read as unknown, COLUMNS if set or else 80, where every frame had been cut to nothing.
 */
function terminalWidth(columns: number | undefined): number {
  if (columns !== 0) return columns ?? Number.POSITIVE_INFINITY;
  const fromEnv = Number(process.env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80;
}

/** No bytes for this long is said on the bar in place of its rate and ETA (a second or two between packets is normal). */
const STILL_MS = 3000;

export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const jsonStream = options.jsonStream ?? process.stdout;
  const mode = options.mode ?? pickProgressMode({}, stream);
  // Monotonic: a wall clock stepped back (NTP, a laptop waking up) froze the bar until it caught up, hours later; one
  // stepped forward counted the jump into the rate, making the ETA hours.
  const now = options.now ?? (() => performance.now());
  let total: number | undefined;
  let done = 0;
  let resumedFrom = 0;
  let startedAt = now();
  let lastDraw = 0;
  let lastDecile = -1;
  /** When bytes last came: a bar that goes on showing the last rate and ETA through a stall says nothing true. */
  let lastBytesAt = startedAt;

  const rate = () => (done - resumedFrom) / Math.max((now() - startedAt) / 1000, 0.001);
  const emit = (event: Record<string, unknown>) => jsonStream.write(`${JSON.stringify({ label, ...event })}\n`);

  function describe(): string {
    const pct = total ? `${Math.floor((done / total) * 100)}%` : '';
    const amount = total ? `${formatBytes(done)}/${formatBytes(total)}` : formatBytes(done);
    const idle = now() - lastBytesAt;
    if (idle >= STILL_MS && (!total || done < total)) return `${pct} ${amount}, no data for ${formatSeconds(Math.floor(idle / 1000))}`.trim();
    // No estimate until this run has moved bytes for a moment: a first frame at 0 B/s would say millions of minutes.
    const measured = done > resumedFrom && now() - startedAt >= 250;
    const eta = total ? ` ETA ${measured ? formatSeconds((total - done) / Math.max(rate(), 1)) : '--'}` : '';
    return `${pct} ${amount} ${formatBytes(rate())}/s${eta}`.trim();
  }

  /**
   * The first frame that fits the terminal, else the last one cut: `\x1b[2K` clears only the row the cursor is on,
   * so a frame that wraps (a split pane, a narrow window) left a new line on the screen at every redraw.
   */
  function fitted(frames: string[]): string {
    const room = terminalWidth(stream.columns) - 1;
    return frames.find((f) => f.length <= room) ?? frames.at(-1)!.slice(0, Math.max(room, 0));
  }

  function draw(force = false): void {
    const t = now();
    if (mode === 'tty') {
      if (!force && t - lastDraw < 100) return;
      lastDraw = t;
      const width = 24;
      const filled = total ? Math.round((done / total) * width) : 0;
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      stream.write(`\r\x1b[2K${fitted([`${label} ${bar} ${describe()}`, `${label} ${describe()}`, describe()])}`);
      return;
    }
    if (!total) return;
    const decile = Math.floor((done / total) * 10);
    if (decile <= lastDecile && !force) return;
    lastDecile = decile;
    if (mode === 'plain') stream.write(`${label}: ${describe()}\n`);
    else if (mode === 'json') emit({ event: 'progress', bytes: done, total, bytesPerSecond: Math.round(rate()) });
  }

  return {
    start(size, already = 0) {
      total = size;
      done = already;
      resumedFrom = already;
      startedAt = now();
      lastBytesAt = startedAt;
      lastDecile = total ? Math.floor((done / total) * 10) : -1;
      if (mode === 'json') emit({ event: 'start', total, resumedFrom: already });
      else if (mode === 'plain')
        stream.write(
          `${label}: starting${total ? ` (${formatBytes(total)}` : ''}${already && total ? `, resuming at ${formatBytes(already)})` : total ? ')' : ''}\n`,
        );
      else if (mode === 'tty') draw(true);
    },
    advance(bytes) {
      done += bytes;
      if (bytes > 0) lastBytesAt = now();
      if (mode !== 'quiet') draw();
    },
    finish(message) {
      if (mode === 'tty') stream.write(`\r\x1b[2K${label}: ${message ?? `done, ${formatBytes(done)}`}\n`);
      else if (mode === 'plain') stream.write(`${label}: ${message ?? `done, ${formatBytes(done)}`}\n`);
      else if (mode === 'json') emit({ event: 'done', bytes: done, message });
    },
    waiting(message) {
      // On a TTY the bar's line is cleared first; the bar is drawn again below at the next advance.
      if (mode === 'tty') stream.write(`\r\x1b[2K${label}: ${message}\n`);
      else if (mode === 'plain') stream.write(`${label}: ${message}\n`);
      else if (mode === 'json') emit({ event: 'waiting', message });
    },
    fail(message) {
      if (mode === 'tty') stream.write(`\r\x1b[2K${label}: failed: ${message}\n`);
      else if (mode === 'plain') stream.write(`${label}: failed: ${message}\n`);
      // 'failed', not 'error': the command's own {event:'error',code,...} line is its outcome, and a reader looks for one.
      else if (mode === 'json') emit({ event: 'failed', bytes: done, message });
    },
  };
}
