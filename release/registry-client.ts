import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pacote from 'pacote';
import { UserError } from '../common/errors.js';

/**
 * How the release tools talk to a registry: npm itself for writes (it honours the
 * user's npm config, auth and --provenance), pacote for reads with a fresh cache so
 * nothing stale is compared.
 */
export interface RegistryTarget {
  url: string;
  /** A bearer token for this registry; otherwise npm's own config (npmrc, NODE_AUTH_TOKEN) applies. */
  token?: string;
  /** Environment for the npm child processes (tests pass a sandboxed cache). */
  env?: NodeJS.ProcessEnv;
}

export function normalizeRegistry(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The `//host/path/:_authToken=` key npm and npm-registry-fetch both read. */
export function authKey(url: string): string {
  return `${normalizeRegistry(url).replace(/^https?:/, '')}:_authToken`;
}

export function npmAuthArgs(target: RegistryTarget): string[] {
  return target.token ? [`--${authKey(target.url)}=${target.token}`] : [];
}

export interface Reader {
  opts: Record<string, unknown>;
  close(): Promise<void>;
}

export async function openReader(target: RegistryTarget): Promise<Reader> {
  const cache = await mkdtemp(join(tmpdir(), 'ao-registry-read-'));
  const opts: Record<string, unknown> = { registry: normalizeRegistry(target.url), cache, preferOnline: true, fullMetadata: true, ...(target.token ? { [authKey(target.url)]: target.token } : {}) };
  return { opts, close: () => rm(cache, { recursive: true, force: true }) };
}

export interface Packument {
  'dist-tags': Record<string, string>;
  versions: Record<string, { dist: { integrity?: string; tarball: string } }>;
  time?: Record<string, string>;
}

/** The package document, or undefined when the registry does not have the package. */
export async function fetchPackument(reader: Reader, name: string, registry: string): Promise<Packument | undefined> {
  try {
    return (await pacote.packument(name, reader.opts)) as unknown as Packument;
  } catch (err) {
    if ((err as { code?: string }).code === 'E404') return undefined;
    throw registryError(err, registry, `reading ${name}`);
  }
}

/** Turns npm/pacote failures people hit into one-line errors that say what to do. */
export function registryError(err: unknown, registry: string, doing: string, output = ''): UserError {
  const e = err as { code?: string; message?: string; statusCode?: number };
  const text = `${e.code ?? ''} ${e.message ?? ''} ${output}`;
  const last = output.trim().split('\n').filter((l) => /npm error|ERR!/.test(l)).slice(0, 2).join(' ') || e.message || String(err);
  if (/E401|E403|ENEEDAUTH|Unable to authenticate|need auth|forbidden/i.test(text) && !/previously published|cannot publish over/i.test(text)) {
    return new UserError({ what: `${doing} on ${registry} was refused`, why: `the registry rejected the credentials (${last.trim()})`, fix: `npm login --registry ${registry} (or set NODE_AUTH_TOKEN / pass --token) and run the same command again`, code: 'EAUTH', cause: err });
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|fetch failed/i.test(text)) {
    return new UserError({ what: `${doing}: cannot reach ${registry}`, why: last.trim(), fix: 'check the --registry URL and your network or proxy, then run the same command again (it resumes)', code: 'EUNREACHABLE', cause: err });
  }
  if (/EPUBLISHCONFLICT|previously published|cannot publish over|E409/i.test(text)) {
    return new UserError({ what: `${doing} on ${registry}: that version is already taken`, why: last.trim(), fix: 'versions are immutable: stage a new version (bump it) and publish that', code: 'ECONFLICT', cause: err });
  }
  return new UserError({ what: `${doing} on ${registry} failed`, why: last.trim(), code: 'EREGISTRY', cause: err });
}
