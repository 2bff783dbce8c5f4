import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_DIR } from '../../../common/paths.js';

/** What scripts/foreign-setup.mjs found or built (.cache/foreign/state.json). */
export interface WineTools {
  wine64: string;
  prefix: string;
  node: string;
  npmCli: string;
  keepAlivePatch: string;
}
export interface Arm64Tools {
  qemu: string;
  ldPrefix: string;
  nodeDir: string;
}
interface State {
  wine: WineTools | null;
  arm64: Arm64Tools | null;
  skip: { wine?: string; arm64?: string };
}

const STATE_FILE = join(CACHE_DIR, 'foreign', 'state.json');

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** The tools for one lane, or why its tests are skipped. */
export function laneTools<K extends 'wine' | 'arm64'>(lane: K): { tools?: NonNullable<State[K]>; skip?: string } {
  const state = readState();
  if (!state) return { skip: `no ${STATE_FILE}: run \`node scripts/foreign-setup.mjs\` (npm run test:foreign does)` };
  const tools = state[lane];
  return tools ? { tools: tools as NonNullable<State[K]> } : { skip: state.skip[lane] ?? 'not set up' };
}

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a process with stdin/stdout/stderr on files rather than pipes: node.exe
 * under Wine cannot use a Unix pipe for its stdio (EBADF in createWritableStdioStream).
 * Asynchronous, so servers in the test's own process (the app server) keep answering.
 */
export async function runOnFiles(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  const dir = mkdtempSync(join(tmpdir(), 'ao-foreign-io-'));
  const files = { in: join(dir, 'in'), out: join(dir, 'out'), err: join(dir, 'err') };
  writeFileSync(files.in, options.input ?? '');
  const fds = [openSync(files.in, 'r'), openSync(files.out, 'w'), openSync(files.err, 'w')];
  try {
    const child = spawn(cmd, args, { env, cwd: options.cwd, stdio: fds });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, sig) => resolve([code, sig]));
    }).finally(() => clearTimeout(timer));
    const stderr = withoutWineNoise(readFileSync(files.err, 'utf8')) + (timedOut ? `\n[runOnFiles: killed after ${options.timeoutMs ?? 60_000} ms]` : '');
    return { status, signal, stdout: readFileSync(files.out, 'utf8'), stderr };
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Wine's own line when a thread of an exiting Windows process loses its wineserver connection
 * ("wine client error:1b0: read: Bad file descriptor", cut short after the colon when the exit wins the race).
 * It comes from Wine's ntdll, never from the program, and a real Windows has no such line; the status,
 * stdout and every other stderr line stay as the program wrote them.
 */
const WINE_CLIENT_ERROR = /^wine client error:[0-9a-f]+: [^\n]*(?:\n|$)/gm;
export const withoutWineNoise = (stderr: string): string => stderr.replace(WINE_CLIENT_ERROR, '');

export function mustSucceed(r: Ran, what: string): Ran {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

export const WINESERVER = '/usr/lib/wine/wineserver';

/** A Unix path as Wine's Windows programs see it (drive Z: is /). */
export const winPath = (unixPath: string): string => `Z:${unixPath.split('/').join('\\')}`;

/** The environment for Wine: the shared prefix, quiet, no desktop entries, plus Windows variables. */
export function wineEnv(tools: WineTools, windowsEnv: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: process.env.USER ?? 'root',
    WINEPREFIX: tools.prefix,
    WINEARCH: 'win64',
    WINEDEBUG: '-all',
    WINEDLLOVERRIDES: 'mscoree,mshtml=;winemenubuilder.exe=d',
    // Wine converts arguments and environment from the Unix locale: without UTF-8, "ü" arrives mangled.
    LANG: 'C.UTF-8',
    // Prepended to the Windows PATH, so npm's lifecycle scripts find `node`.
    WINEPATH: winPath(join(tools.node, '..')),
    ...windowsEnv,
  };
}
