import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isObject } from '../../../common/is-object.js';

export const OPENCODE_SESSION_ID = /^ses_[A-Za-z0-9_-]+$/;

/** Claude Code's project dir name for a cwd: `\` -> `/`, `:` removed, `/` and `.` -> `-` (`/Users/a/x.y` -> `-Users-a-x-y`). */
export function encodeClaudeProjectDir(worktree: string): string {
  return worktree.replace(/\\/g, '/').replace(/:/g, '').replace(/[/.]/g, '-');
}

export type Found<T> = { value: T } | { missing: string };

/** The UUID of the newest-mtime `*.jsonl` (skipping `agent-*`) in `~/.claude/projects/{enc(worktree)}/`, as legacy resume picks it. */
export function findClaudeSession(home: string, worktree: string): Found<string> {
  const dir = join(home, '.claude', 'projects', encodeClaudeProjectDir(worktree));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { missing: `no Claude project dir ${dir}` };
  }
  let best: { stem: string; mtime: number } | undefined;
  for (const name of names) {
    if (!name.endsWith('.jsonl') || name.startsWith('agent-')) continue;
    let mtime: number;
    try {
      const st = statSync(join(dir, name));
      if (!st.isFile()) continue;
      mtime = st.mtimeMs;
    } catch {
      continue;
    }
    if (!best || mtime > best.mtime) best = { stem: name.slice(0, -'.jsonl'.length), mtime };
  }
  return best ? { value: best.stem } : { missing: `no Claude session file (*.jsonl) in ${dir}` };
}

// One read buffer for every head read: thousands of rollouts must not cost thousands of 64 KiB allocations.
const headBuffer = Buffer.allocUnsafe(64 * 1024);

/** Up to `maxLines` lines from the start of a file, reading at most `maxBytes`. */
export function readHeadLines(path: string, maxLines: number, maxBytes = 1 << 20): string[] {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let newlines = 0;
    const buf = headBuffer;
    while (total < maxBytes && newlines < maxLines) {
      const n = readSync(fd, buf, 0, buf.length, total);
      if (n === 0) break;
      const chunk = Buffer.from(buf.subarray(0, n));
      for (const b of chunk) if (b === 10) newlines++;
      chunks.push(chunk);
      total += n;
    }
    return Buffer.concat(chunks).toString('utf8').split('\n').slice(0, maxLines);
  } finally {
    closeSync(fd);
  }
}

interface CodexRollout {
  path: string;
  mtime: number;
  threadId?: string;
  model?: string;
  /** The model came from a `turn_context` entry (it beats any other `payload.model`). */
  modelFromTurnContext: boolean;
}

function parseLines(lines: string[]): Array<Record<string, unknown>> {
  const entries: Array<Record<string, unknown>> = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line);
      if (isObject(v)) entries.push(v);
    } catch {
      // a torn or partial line: legacy resume skips it too
    }
  }
  return entries;
}

function modelOf(entries: Array<Record<string, unknown>>): { model?: string; fromTurnContext: boolean } {
  let first: string | undefined;
  for (const e of entries) {
    const m = isObject(e.payload) && typeof e.payload.model === 'string' ? e.payload.model : undefined;
    if (!m) continue;
    if (e.type === 'turn_context') return { model: m, fromTurnContext: true };
    first ??= m;
  }
  return { model: first, fromTurnContext: false };
}

/**
 * Every Codex rollout under `~/.codex/sessions/` (up to 4 dir levels), indexed by the `payload.cwd` of the
 * `session_meta` entry in its first 10 lines. Built once per export, so 10k sessions cost one tree walk.
 */
export class CodexIndex {
  private readonly byCwd = new Map<string, CodexRollout[]>();
  readonly root: string;
  readonly exists: boolean;

  constructor(home: string) {
    this.root = join(home, '.codex', 'sessions');
    let exists = true;
    try {
      statSync(this.root);
    } catch {
      exists = false;
    }
    this.exists = exists;
    if (exists) this.walk(this.root, 0);
    for (const list of this.byCwd.values()) list.sort((a, b) => b.mtime - a.mtime);
  }

  private walk(dir: string, depth: number): void {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 4) this.walk(path, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.jsonl')) {
        this.add(path);
      }
    }
  }

  private add(path: string): void {
    let entries: Array<Record<string, unknown>>;
    let mtime: number;
    try {
      mtime = statSync(path).mtimeMs;
      entries = parseLines(readHeadLines(path, 10));
    } catch {
      return;
    }
    const meta = entries.find((e) => e.type === 'session_meta' && isObject(e.payload));
    if (!meta) return;
    const payload = meta.payload as Record<string, unknown>;
    if (typeof payload.cwd !== 'string') return;
    const threadId = [payload.id, payload.threadId, meta.threadId].find((v): v is string => typeof v === 'string' && v !== '');
    const { model, fromTurnContext } = modelOf(entries);
    const list = this.byCwd.get(payload.cwd) ?? [];
    list.push({ path, mtime, threadId, model, modelFromTurnContext: fromTurnContext });
    this.byCwd.set(payload.cwd, list);
  }

  /** The newest rollout for `worktree` that names a thread; its model from `turn_context`, else the first `payload.model`. */
  lookup(worktree: string): Found<{ threadId: string; model?: string }> {
    if (!this.exists) return { missing: `no Codex sessions dir ${this.root}` };
    const rollout = (this.byCwd.get(worktree) ?? []).find((r) => r.threadId);
    if (!rollout) return { missing: `no Codex rollout in ${this.root} with cwd ${worktree}` };
    let model = rollout.model;
    if (!rollout.modelFromTurnContext) {
      // The turn_context usually follows the first user turn; read further into this one file only.
      try {
        const more = modelOf(parseLines(readHeadLines(rollout.path, 500, 4 << 20)));
        if (more.fromTurnContext || !model) model = more.model ?? model;
      } catch {
        // keep what the head gave
      }
    }
    return { value: { threadId: rollout.threadId!, ...(model ? { model } : {}) } };
  }
}
