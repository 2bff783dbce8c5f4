import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, readSync, closeSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect } from 'vitest';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from '../../common/paths.js';
import type { AoManifest } from '../../common/ao-manifest.js';
import type { EmbeddedRegistry } from '../../release/embedded-registry.js';
import { registryWithRelease } from '../../rehearsal/release-fixture.js';
import { createSandbox, type Sandbox } from '../../rehearsal/sandbox.js';

/** Helpers shared by the install journeys in test/e2e/install-*.test.ts. */

/** Another user's uid, for files a root test must not trust (no account needed: ownership is a number). */
export const OTHER_UID = 4242;

export interface ReleaseRegistry {
  registry: EmbeddedRegistry;
  manifest: AoManifest;
  /** A sandboxed user pointed at the registry, cleaned up after the file; extra PATH entries go first. */
  sandbox(name: string, extraPath?: string[], env?: NodeJS.ProcessEnv): Sandbox;
}

/** One registry holding the fixture release for the whole describe block, and its sandboxes, torn down after. */
export function useReleaseRegistry(version = '0.10.0'): ReleaseRegistry {
  const sandboxes: Sandbox[] = [];
  const ctx = {
    sandbox(name: string, extraPath: string[] = [], env: NodeJS.ProcessEnv = {}) {
      const sb = createSandbox({ registry: ctx.registry.url, name });
      sandboxes.push(sb);
      sb.env = { ...sb.env, ...env, PATH: [...extraPath, sb.env.PATH].join(delimiter) };
      return sb;
    },
  } as ReleaseRegistry;
  beforeAll(async () => {
    const { registry, staged } = await registryWithRelease(version);
    ctx.registry = registry;
    ctx.manifest = staged.manifest as AoManifest;
  });
  afterAll(async () => {
    // Not sb.cleanup(): removing every sandbox's installs in one synchronous call can hold this worker past
    // vitest's 60 s reply timeout under load (see run below).
    await Promise.all(sandboxes.map((sb) => rm(sb.root, { recursive: true, force: true })));
    await ctx.registry?.stop();
  });
  return ctx;
}
export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started, or ran past its timeout (then killed with SIGTERM). */
  error?: Error;
}

/**
 * Runs a command to its end without blocking this worker: a test body made of synchronous installs can keep
 * the event loop busy for over a minute under load, and then vitest's own 60 s reply timeout fires
 * ("Timeout calling onTaskUpdate") and fails the run with every test passed.
 */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string; input?: string; timeout?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      error = Object.assign(new Error(`${cmd} ran past ${options.timeout ?? 240_000} ms`), { code: 'ETIMEDOUT' });
      child.kill('SIGTERM');
    }, options.timeout ?? 240_000);
    child.on('error', (e) => (error = e));
    // A command that never reads its stdin closes it: EPIPE there is not the command's failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      // As spawnSync: no status for a command that never started.
      resolve({ status: child.pid === undefined ? null : status, signal, stdout, stderr, error });
    });
  });
}

export async function mustRun(cmd: string, args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, args, env, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function firstBytes(path: string, n = 4): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** A file of test/postinstall/support/ (preloads and stand-ins the launcher tests run). */
export const supportFile = (name: string) => join(REPO_ROOT, 'test', 'postinstall', 'support', name);

/** A preload that prints, as bin/ao hands over with process.execve, every file Node compiled (`compiled: [...]` on stderr). */
export const REPORT_COMPILED_AT_EXECVE = supportFile('report-files-at-execve.cjs');
/** The same at the launcher's exit, for Node without process.execve (20), where it stays beside the binary it spawned. */
export const REPORT_COMPILED_AT_EXIT = supportFile('report-files-at-exit.cjs');

/** pnpm from the repo's own node_modules, run with the PATH's node. */
export const PNPM = join(REPO_ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');

/**
 * `env` (the sandbox's unless given) with a command `name` first on PATH: a shim in the sandbox that runs the JS file
 * `script` with the PATH's node, so a printed command runs as typed.
 */
export function withNodeShim(sb: Sandbox, name: string, script: string, env: NodeJS.ProcessEnv = sb.env): NodeJS.ProcessEnv {
  return withShim(sb, name, `exec node ${JSON.stringify(script)} "$@"`, env);
}

/** `env` with a `name` on PATH (in the sandbox's shims folder) that runs the sh line `body`. */
export function withShim(sb: Sandbox, name: string, body: string, env: NodeJS.ProcessEnv = sb.env): NodeJS.ProcessEnv {
  const shims = join(sb.root, 'shims');
  mkdirSync(shims, { recursive: true });
  writeFileSync(join(shims, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return { ...env, PATH: [shims, env.PATH].join(delimiter) };
}

/** The sandbox's environment with `pnpm` on PATH. */
export const withPnpmShim = (sb: Sandbox): NodeJS.ProcessEnv => withNodeShim(sb, 'pnpm', PNPM);

export const isElf = (path: string) => firstBytes(path).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
export const isNodeScript = (path: string) => firstBytes(path, 2).toString() === '#!';

/** Sends `signal` to `ao fixture sleep` once it runs; resolves with how it ended and what it printed. */
export async function signalDuringSleep(
  ao: string,
  env: NodeJS.ProcessEnv,
  signal: NodeJS.Signals,
  settleMs = 700,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const child = spawn(ao, ['fixture', 'sleep', '20000'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, sig) => resolve({ code, signal: sig })),
  );
  await sleep(settleMs);
  child.kill(signal);
  const r = await ended;
  return { ...r, stdout };
}

/** What the launcher prints while it waits for an install in progress (postinstall/install-settle.ts). */
export const WAITS_FOR_INSTALL = 'ao: waiting for the install in progress';

/**
 * Starts `cmd args` and follows what it prints: `waiting` settles once it says it waits for an install in progress,
 * or once it ended without saying so; `ended` gives its exit code. `out` fills as it prints.
 */
export function startUntilItWaits(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const said = new Promise<void>((resolve) =>
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out.stderr += d;
      if (out.stderr.includes(WAITS_FOR_INSTALL)) resolve();
    }),
  );
  return { child, out, ended, waiting: Promise.race([said, ended.then(() => undefined)]) };
}

/** Exit codes and signal deaths pass through `ao` exactly as the binary produced them. */
/** `settleMs`: how long the program gets to install its signal handlers (longer under an emulator). */
export async function expectExactPassThrough(ao: string, env: NodeJS.ProcessEnv, settleMs = 700): Promise<void> {
  for (const code of [0, 1, 3, 42]) {
    const r = await run(ao, ['fixture', 'exit', String(code)], env);
    expect(r.stderr).not.toMatch(/at .*\.cjs|Error:/);
    expect(r.status).toBe(code);
  }
  const args = await run(ao, ['fixture', 'args', 'a b', '--x=1', ''], env);
  expect(JSON.parse(args.stdout)).toEqual(['a b', '--x=1', '']);
  expect((await run(ao, ['fixture', 'stdin'], env, { input: 'piped\n' })).stdout).toBe('piped\n');
  for (const [name, signal, shellCode] of [
    ['TERM', 'SIGTERM', 143],
    ['INT', 'SIGINT', 130],
  ] as const) {
    expect((await run(ao, ['fixture', 'signal', name], env)).signal).toBe(signal);
    expect((await run('sh', ['-c', `"${ao}" fixture signal ${name}; echo "status=$?"`], env)).stdout).toContain(`status=${shellCode}`);
  }
  for (const [signal, seen] of [
    ['SIGTERM', 'terminated'],
    ['SIGINT', 'interrupt'],
  ] as const) {
    const r = await signalDuringSleep(ao, env, signal, settleMs);
    expect(r.stdout).toContain(`got ${seen}`);
    expect(r.signal).toBe(signal);
  }
}

/** Flips one byte near the end of `path` (same size): no longer the released binary. A new file unless `inPlace` (a store's hard link stays intact). */
export function alterBinary(path: string, inPlace = true): void {
  const bytes = readFileSync(path);
  bytes[bytes.length - 100]! ^= 0xff;
  if (!inPlace) rmSync(path);
  writeFileSync(path, bytes, { mode: 0o755 });
}

/** The repair command an integrity refusal names on its `fix:` line. */
export const repairCommand = (stderr: string): string | undefined => /fix: reinstall: (.*?) {2}\(/.exec(stderr)?.[1];

/** Runs `ao` expecting its integrity refusal (exit 1); the repair command it names. */
export async function refusedWithRepair(cmd: string, args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<string | undefined> {
  const r = await run(cmd, args, env, options);
  expect(r.status, r.stderr).toBe(1);
  return repairCommand(r.stderr);
}

/** Runs a printed repair command as a user would: in the folder its "(in <folder>)" names (`cwd`), or where they are. */
export async function runRepair(fix: string | undefined, env: NodeJS.ProcessEnv, cwd?: string): Promise<void> {
  await mustRun('sh', ['-c', fix!.replace(/ \(in .*\)$/, '')], env, cwd ? { cwd } : {});
}

/** Flips one byte of `path` in place (same inode, same size), then puts its mtime back as `touch -r` would. */
export function editKeepingMtime(path: string): void {
  const ref = `${path}.times`;
  execFileSync('touch', ['-r', path, ref]);
  const before = statSync(path);
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    const at = before.size - 100;
    byte[0] = readFileSync(path)[at]! ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  execFileSync('touch', ['-r', ref, path]);
  rmSync(ref);
  expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
}

/** The shipped commands besides ao, each with what its --help prints and an argument it refuses (exit 2). */
export const SHIPPED_COMMANDS = [
  ['ao-app', 'usage: ao-app install|verify|where|remove', 'bogus'],
  ['ao-legacy-import', 'usage: ao-legacy-import [--check]', '--bogus'],
] as const;

/** ao-app and ao-legacy-import through the bin links or shims a package manager put in `binDir`: --help, and a usage error's exit 2. */
export async function expectShippedCommandsRun(binDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  for (const [cmd, usage, bad] of SHIPPED_COMMANDS) {
    const bin = join(binDir, cmd);
    expect((await mustRun(bin, ['--help'], env)).stdout).toContain(usage);
    const wrong = await run(bin, [bad], env);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain(bad);
  }
}
