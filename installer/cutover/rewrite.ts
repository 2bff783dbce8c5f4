import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../common/errors.js';
import { utf8Path } from '../../common/home.js';
import { pidAlive } from '../../common/process-identity.js';
import { versionFromOutput } from '../../common/version-output.js';
import { runCommand } from './run.js';

/**
 * The cutover's client of the rewrite's CLI, written against its real contract (docs/rewrite-contract.md):
 * where it keeps things, `ao version`, `running.json`, the JSON its commands print, and which optional
 * capabilities a build offers (read from its own `ao import --help`).
 */
export interface RewritePaths {
  /** `~/.ao` (the rewrite reads no AO_HOME; the cutover keeps its journal, backups and logs here). */
  aoHome: string;
  /** `running.json`: `AO_RUN_FILE`, else `~/.ao/running.json`. */
  runFile: string;
  /** The store's folder: `AO_DATA_DIR`, else `~/.ao/data`. */
  dataDir: string;
}

export function rewritePaths(home: string, env: NodeJS.ProcessEnv): RewritePaths {
  const aoHome = join(home, '.ao');
  // The rewrite reads AO_RUN_FILE by its bytes: a name that is not UTF-8 is another file here (common/home.ts), where the
  // daemon the user runs is not seen.
  // So are AO_DATA_DIR's: a name that is not UTF-8 had imported into another store, one the user's ao never opens.
  return { aoHome, runFile: utf8Path(env.AO_RUN_FILE || join(aoHome, 'running.json')), dataDir: utf8Path(env.AO_DATA_DIR || join(aoHome, 'data')) };
}

/** The store is SQLite in WAL mode: these three files together are the data (a copy of ao.db alone loses some). */
export const STORE_FILES = ['ao.db', 'ao.db-wal', 'ao.db-shm'] as const;

export interface RunInfo {
  pid: number;
  port: number;
  startedAt: string;
}

export async function readRunFile(file: string): Promise<RunInfo | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = JSON.parse(text) as RunInfo;
    return Number.isInteger(info.pid) && Number.isInteger(info.port) ? info : undefined;
  } catch {
    return undefined; // being replaced right now, or damaged: the caller polls again
  }
}

/** The daemon `running.json` names, when its pid is alive (a dead pid is a stale file, as the rewrite says). */
export async function liveDaemon(runFile: string): Promise<RunInfo | undefined> {
  const info = await readRunFile(runFile);
  return info && pidAlive(info.pid) ? info : undefined;
}

const lastLines = (text: string, n = 2) => text.trim().split('\n').slice(-n).join(' | ');

/** Runs `ao <args>` and parses its stdout as JSON; a failure names the command, its exit code and its last words. */
export async function aoJson<T>(ao: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 5 * 60_000, onSpawn?: (pid: number) => void): Promise<T> {
  const res = await runCommand(ao, args, { env, timeoutMs, onSpawn });
  const command = `ao ${args.join(' ')}`;
  if (res.code !== 0) throw new RewriteCommandError(command, res.code, lastLines(res.stderr) || lastLines(res.stdout));
  try {
    return JSON.parse(res.stdout) as T;
  } catch {
    throw new RewriteCommandError(command, res.code, `printed no JSON: ${res.stdout.trim().slice(0, 200)}`);
  }
}

export class RewriteCommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly detail: string,
  ) {
    super(`\`${command}\` exited ${exitCode}: ${detail}`);
  }
}

/** The version the rewrite reports (`ao version`, parsed like every other version line). */
export async function rewriteVersion(ao: string, env: NodeJS.ProcessEnv): Promise<string> {
  const res = await runCommand(ao, ['version'], { env, timeoutMs: 60_000 });
  const version = res.code === 0 ? versionFromOutput(res.stdout) : undefined;
  if (!version)
    throw new UserError({
      what: 'cannot read the new ao version',
      why: `\`ao version\` exited ${res.code}: ${lastLines(res.stdout + res.stderr)}`,
      code: 'EHEALTH',
    });
  return version;
}

export interface ImportCapabilities {
  /** `ao import --from <dir>`: projects and settings from a legacy root (the real contract). */
  fromDir: boolean;
  /** `ao import --sessions-from <bundle>`: sessions with their agent resume ids (optional; the fixture offers it). */
  sessionsFrom: boolean;
}

/** What this build's `ao import` takes, from its own help (flags are listed as `--name`). */
export async function importCapabilities(ao: string, env: NodeJS.ProcessEnv): Promise<ImportCapabilities> {
  const res = await runCommand(ao, ['import', '--help'], { env, timeoutMs: 60_000 });
  const help = res.code === 0 ? res.stdout : '';
  return { fromDir: /--from\b/.test(help), sessionsFrom: /--sessions-from\b/.test(help) };
}
