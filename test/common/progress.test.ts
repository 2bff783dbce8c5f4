import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { createProgress, formatBytes, pickProgressMode } from '../../common/progress.js';

function sink(isTTY = false) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => chunks.join(''), chunks };
}

describe('progress output', () => {
  it('prints a plain line about every 10% when not a TTY', () => {
    const out = sink();
    let t = 0;
    const p = createProgress('desktop app', { mode: 'plain', stream: out.stream, now: () => t });
    p.start(1000);
    for (let i = 0; i < 100; i++) {
      t += 10;
      p.advance(10);
    }
    p.finish();
    const lines = out.text().trim().split('\n');
    expect(lines[0]).toBe('desktop app: starting (1.0 KB)');
    expect(lines.filter((l) => /%/.test(l))).toHaveLength(10);
    expect(lines.at(-1)).toBe('desktop app: done, 1.0 KB');
  });

  it('draws a bar with rate and ETA on a TTY, throttled', () => {
    const out = sink(true);
    let t = 0;
    const p = createProgress('app', { mode: 'tty', stream: out.stream, now: () => t });
    p.start(10_000_000);
    t = 1000;
    p.advance(2_000_000);
    p.advance(1); // within 100 ms of the last draw: no redraw
    expect(out.chunks.at(-1)).toMatch(/\r\x1b\[2Kapp \[#####\.+\] 20% 2\.0 MB\/10\.0 MB 2\.0 MB\/s ETA 4s/);
    const draws = out.chunks.length;
    p.advance(1);
    expect(out.chunks.length).toBe(draws);
  });

  it('keeps redrawing the bar, with a sane ETA, when the wall clock steps back or forward mid-download (NTP, a laptop waking up)', async () => {
    const wall = Date.now.bind(Date);
    let step = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => wall() + step);
    try {
      const out = sink(true);
      const p = createProgress('app', { mode: 'tty', stream: out.stream });
      p.start(10_000_000);
      step = -3_600_000;
      // More than the 100 ms between frames, on any clock that counts the time that passed.
      await sleep(150);
      const frames = out.chunks.length;
      p.advance(1_000_000);
      // On the wall clock, an hour went by before the next frame could be drawn: the bar froze, looking like a hang.
      expect(out.chunks).toHaveLength(frames + 1);
      step = 3_600_000;
      await sleep(150);
      p.advance(1_000_000);
      // An hour counted into the rate had made the ETA hours (8 MB left after 2 MB in well under a minute).
      expect(Number(/ETA (\d+)m/.exec(out.chunks.at(-1)!)?.[1] ?? 0)).toBeLessThan(10);
    } finally {
      clock.mockRestore();
    }
  });

  it('keeps each frame within a narrow terminal (a split pane): a line that wraps is never cleared, so every redraw left a new line', () => {
    for (const columns of [60, 40, 20]) {
      const out = sink(true);
      Object.assign(out.stream, { columns });
      let t = 0;
      const p = createProgress('desktop app', { mode: 'tty', stream: out.stream, now: () => t });
      p.start(254_000_000);
      for (let i = 1; i <= 5; i++) {
        t += 1000;
        p.advance(20_000_000);
      }
      const frames = out.chunks.filter((c) => c.startsWith('\r\x1b[2K') && !c.endsWith('\n'));
      expect(frames.length).toBeGreaterThan(0);
      // `\r\x1b[2K` clears only the line the cursor is on: a frame must stay shorter than the terminal.
      for (const frame of frames) expect(frame.slice('\r\x1b[2K'.length).length).toBeLessThan(columns);
      // What matters most survives: how far it is.
      expect(frames.at(-1)).toContain('39%');
    }
  });

  // A pseudo-terminal nobody sized (`script` run from a script, `docker exec -t` before its first resize, a serial
  // console) reports 0 columns: every frame had been cut to nothing, so the whole download showed no progress at all.
  it('draws the bar on a terminal that reports 0 columns (a pty nobody sized), at the width COLUMNS gives or 80', () => {
    const columnsEnv = process.env.COLUMNS;
    try {
      for (const [env, width] of [
        [undefined, 80],
        ['50', 50],
      ] as const) {
        if (env === undefined) delete process.env.COLUMNS;
        else process.env.COLUMNS = env;
        const out = sink(true);
        Object.assign(out.stream, { columns: 0 });
        let t = 0;
        const p = createProgress('desktop app', { mode: 'tty', stream: out.stream, now: () => t });
        p.start(254_000_000);
        t += 1000;
        p.advance(100_000_000);
        const frame = out.chunks
          .filter((c) => c.startsWith('\r\x1b[2K') && !c.endsWith('\n'))
          .at(-1)!
          .slice('\r\x1b[2K'.length);
        expect(frame).toContain('39%');
        expect(frame.length).toBeLessThan(width);
      }
    } finally {
      if (columnsEnv === undefined) delete process.env.COLUMNS;
      else process.env.COLUMNS = columnsEnv;
    }
  });

  it('prints plain lines, not escape codes, on a dumb terminal (TERM=dumb: Emacs shell, some CI consoles)', () => {
    const term = process.env.TERM;
    const ci = process.env.CI;
    try {
      delete process.env.CI;
      process.env.TERM = 'dumb';
      expect(pickProgressMode({}, { isTTY: true })).toBe('plain');
      process.env.TERM = 'xterm-256color';
      expect(pickProgressMode({}, { isTTY: true })).toBe('tty');
    } finally {
      if (term === undefined) delete process.env.TERM;
      else process.env.TERM = term;
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });

  it('emits NDJSON events with --json, resuming from the bytes already there', () => {
    const out = sink();
    const p = createProgress('app', { mode: 'json', jsonStream: out.stream, stream: out.stream, now: () => 0 });
    p.start(100, 40);
    p.advance(60);
    p.fail('hash mismatch');
    const events = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ label: 'app', event: 'start', total: 100, resumedFrom: 40 });
    expect(events.some((e) => e.event === 'progress' && e.bytes === 100)).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'failed', message: 'hash mismatch' });
  });

  it('is silent when quiet', () => {
    const out = sink(true);
    const p = createProgress('app', { mode: 'quiet', stream: out.stream, jsonStream: out.stream });
    p.start(10);
    p.advance(10);
    p.finish();
    expect(out.text()).toBe('');
    expect(pickProgressMode({ quiet: true, json: true })).toBe('quiet');
    expect(formatBytes(254_000_000)).toBe('254.0 MB');
  });
});

function tty() {
  const out: string[] = [];
  return { out, stream: { isTTY: true, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean } };
}

describe('progress ETA on a terminal', () => {
  it('shows no ETA until bytes have moved, never millions of minutes on the first frame', () => {
    const { out, stream } = tty();
    let t = 1_000_000;
    const progress = createProgress('desktop app', { mode: 'tty', stream, now: () => t });
    progress.start(254_000_000);
    expect(out.at(-1)).toMatch(/ETA --/);
    t += 1000;
    progress.advance(25_400_000);
    expect(out.at(-1)).toMatch(/ETA 9s/);
  });

  it("gives a resumed download an ETA from this run's rate only", () => {
    const { out, stream } = tty();
    let t = 0;
    const progress = createProgress('desktop app', { mode: 'tty', stream, now: () => t });
    progress.start(100_000_000, 90_000_000);
    expect(out.at(-1)).toMatch(/ETA --/);
    t += 2000;
    progress.advance(5_000_000);
    expect(out.at(-1)).toMatch(/ETA 2s/);
  });
});
