import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import { UserError } from '../../common/errors.js';
import type { StartedDaemon } from './steps/health.js';
import { TEST_HOOKS } from '../../common/test-hooks.js';

/**
 * The cutover's write-ahead journal (`~/.ao/cutover/journal.json`): every step
 * is recorded as started before it runs and done after, written atomically, so
 * the next run can tell exactly what a crash interrupted and finish or undo it.
 */
export const FORWARD_STEPS = ['preflight', 'backup', 'install', 'app', 'import', 'health'] as const;
export type ForwardStep = (typeof FORWARD_STEPS)[number];
export const ROLLBACK_STEPS = ['stop-daemon', 'restore-store', 'reinstall-legacy', 'verify-legacy-files'] as const;
export type RollbackStep = (typeof ROLLBACK_STEPS)[number];
export type StepName = ForwardStep | RollbackStep | 'commit';

export interface StepRecord {
  name: StepName;
  status: 'started' | 'done' | 'failed';
  startedAt: string;
  endedAt?: string;
  detail?: unknown;
  error?: string;
}

export interface PackageManagerInfo {
  name: 'npm' | 'pnpm' | 'yarn' | 'bun';
  /** The global node_modules folder that holds @aoagents/ao. */
  globalRoot: string;
}

export interface JournalData {
  schema: 1;
  id: string;
  command: 'update' | 'legacy-import';
  status: 'running' | 'rolling-back' | 'done' | 'rolled-back';
  startedAt: string;
  target: string;
  legacyVersion?: string;
  packageManager?: PackageManagerInfo;
  backupDir?: string;
  /** A daemon this cutover started (recorded before it is waited on, so a recovery can stop it). */
  daemon?: StartedDaemon;
  /** A writing command a step started in its own process group (install, import, reinstall): a recovery waits for it (children.ts). */
  child?: { pid: number; command: string; startedAt: string; startId?: string };
  steps: StepRecord[];
  rollback: StepRecord[];
  /** What a rollback could not undo, for the report. */
  notUndone: string[];
}

export function journalPath(aoHome: string): string {
  return join(aoHome, 'cutover', 'journal.json');
}

/**
 * Crash testing the rustup way: `AO_CUTOVER_CRASH_AT=<step>:<before|after>` kills this process at
 * that point. Test builds only (common/test-hooks.ts): not in the shipped bundles.
 */
export function checkpoint(step: StepName, when: 'before' | 'during' | 'after', env: NodeJS.ProcessEnv = process.env): void {
  if (TEST_HOOKS && env.AO_CUTOVER_CRASH_AT === `${step}:${when}`) process.kill(process.pid, 'SIGKILL');
}

export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let held: NodeJS.Signals | undefined;
let ignoring = false;
let holders = 0;

/** Told when an interrupt is held: a step that can stop early (the app's download) does. */
const onHeld = new Set<() => void>();

function onSignal(signal: NodeJS.Signals): void {
  if (!ignoring && !held) {
    held = signal;
    for (const listener of onHeld) listener();
  }
  process.stderr.write(`ao: ${signal} received; ${ignoring ? 'finishing the rollback first' : 'stopping after this step'}\n`);
}

/**
 * Holds SIGINT/SIGTERM/SIGHUP from now until the returned release: the cutover
 * installs it for its whole journaled run, so an interrupt stops it at the next
 * step boundary (and a rollback), never half way through a step.
 */
export function holdSignals(): () => void {
  if (holders++ === 0) for (const s of SIGNALS) process.on(s, onSignal);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders > 0) return;
    for (const s of SIGNALS) process.off(s, onSignal);
    // The interrupt was this run's: a later run in the same process (a library caller, the unit suite's shared
    // module graph) had found it still held and stopped at its first step.
    held = undefined;
  };
}

/**
 * An AbortSignal that fires when an interrupt is held (at once if one already is), for a step that can stop early
 * and still leave things as they were: the app's download (minutes long; its bytes are kept for `ao-app install`).
 * `dispose` when the step ends.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error(`interrupted by ${held}`));
  if (held) abort();
  onHeld.add(abort);
  return { signal: controller.signal, dispose: () => onHeld.delete(abort) };
}

/**
 * Runs `fn` with the interrupts held. With `ignore` they are dropped (rollback
 * must not be interrupted); otherwise the first one is returned so the caller
 * can stop at a clean point.
 */
export async function withSignalsDeferred<T>(fn: () => Promise<T>, ignore = false): Promise<{ value: T; signal?: NodeJS.Signals }> {
  const release = holdSignals();
  const wasIgnoring = ignoring;
  if (ignore) ignoring = true;
  try {
    const value = await fn();
    return { value, signal: ignore ? undefined : held };
  } finally {
    ignoring = wasIgnoring;
    release();
  }
}

export class Journal {
  private constructor(
    readonly path: string,
    public data: JournalData,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(aoHome: string, init: Pick<JournalData, 'command' | 'target'>, env: NodeJS.ProcessEnv = process.env): Promise<Journal> {
    const data: JournalData = {
      schema: 1,
      id: new Date().toISOString().replace(/[:.]/g, '-'),
      status: 'running',
      startedAt: new Date().toISOString(),
      steps: [],
      rollback: [],
      notUndone: [],
      ...init,
    };
    const journal = new Journal(journalPath(aoHome), data, env);
    await journal.save();
    return journal;
  }

  static async load(aoHome: string, env: NodeJS.ProcessEnv = process.env): Promise<Journal | undefined> {
    const path = journalPath(aoHome);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let data: JournalData;
    try {
      data = JSON.parse(text) as JournalData;
    } catch (cause) {
      throw new UserError({
        what: 'cannot read the cutover journal',
        why: `${path} is not valid JSON (it is always written atomically, so something else changed it)`,
        fix: `move ${path} aside and run \`ao update\` again; your legacy data in ~/.agent-orchestrator was never changed`,
        code: 'EJOURNAL',
        cause,
      });
    }
    if (data.schema !== 1 || !Array.isArray(data.steps)) {
      throw new UserError({
        what: 'cannot read the cutover journal',
        why: `${path} has schema ${String(data.schema)}; this ao reads schema 1`,
        fix: 'update with the newest `ao`',
        code: 'EJOURNAL',
      });
    }
    data.rollback ??= [];
    data.notUndone ??= [];
    return new Journal(path, data, env);
  }

  get pending(): boolean {
    return this.data.status === 'running' || this.data.status === 'rolling-back';
  }

  record(name: StepName, list: 'steps' | 'rollback' = 'steps'): StepRecord | undefined {
    return [...this.data[list]].reverse().find((s) => s.name === name);
  }

  started(name: StepName): boolean {
    return this.record(name) !== undefined;
  }

  done(name: StepName, list: 'steps' | 'rollback' = 'steps'): boolean {
    return this.record(name, list)?.status === 'done';
  }

  async update(patch: Partial<JournalData>): Promise<void> {
    Object.assign(this.data, patch);
    await this.save();
  }

  /**
   * Runs one step: "started" is on disk before it runs, "done" (with its
   * detail) after. Signals are held until the step ends; rollback steps ignore them.
   */
  async step<T>(name: StepName, fn: () => Promise<T>, list: 'steps' | 'rollback' = 'steps'): Promise<T> {
    // An interrupt that arrived between steps stops the run before the next one starts.
    if (list === 'steps' && held) throw new Interrupted(held);
    const rec: StepRecord = { name, status: 'started', startedAt: new Date().toISOString() };
    this.data[list].push(rec);
    await this.save();
    checkpoint(name, 'before', this.env);
    let outcome: { value: T; signal?: NodeJS.Signals };
    try {
      outcome = await withSignalsDeferred(fn, list === 'rollback');
    } catch (err) {
      rec.status = 'failed';
      rec.endedAt = new Date().toISOString();
      rec.error = err instanceof Error ? err.message : String(err);
      await this.save();
      throw err;
    }
    rec.status = 'done';
    rec.endedAt = new Date().toISOString();
    if (outcome.value !== undefined) rec.detail = outcome.value;
    await this.save();
    checkpoint(name, 'after', this.env);
    if (outcome.signal) throw new Interrupted(outcome.signal);
    return outcome.value;
  }

  /** Moves a finished journal aside (kept for forensics) so the next run starts clean. */
  async archive(): Promise<string> {
    const dest = join(this.path, '..', `journal-${this.data.id}-${this.data.status}.json`);
    await mkdir(join(this.path, '..'), { recursive: true });
    await rename(this.path, dest);
    return dest;
  }

  private saving: Promise<void> = Promise.resolve();

  /** Saves in call order: a record made while an earlier save is in flight never lands before it. */
  private save(): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(() => writeJsonAtomic(this.path, this.data));
    return this.saving;
  }
}

export type RecoveryPlan = 'none' | 'finish' | 'rollback' | 'discard';

/**
 * What the next run does with a journal a crash left behind: a cutover whose
 * health check passed only needs its commit; one that touched the global
 * install or the store is rolled back; one that only read and copied is discarded.
 */
export function planRecovery(data: JournalData | undefined): RecoveryPlan {
  if (!data || data.status === 'done' || data.status === 'rolled-back') return 'none';
  if (data.status === 'rolling-back') return 'rollback';
  const done = (n: StepName) => data.steps.some((s) => s.name === n && s.status === 'done');
  const started = (n: StepName) => data.steps.some((s) => s.name === n);
  if (done('health')) return 'finish';
  if (started('install') || started('import') || started('health')) return 'rollback';
  return 'discard';
}
