import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import npmFetch from 'npm-registry-fetch';
import pacote from 'pacote';
import { UserError } from '../common/errors.js';
import { npmFlatOptions } from '../common/npm-config.js';

/**
 * How the release tools talk to a registry: in-process, with npm's own libraries
 * (libnpmpublish, npm-registry-fetch, pacote) and npm's own configuration loader, so the
 * user's npmrc, auth, proxy and CA apply as they would to `npm publish`, without an npm
 * start-up per package. Reads use a fresh cache so nothing stale is compared.
 */
export interface RegistryTarget {
  url: string;
  /** A bearer token for this registry; otherwise npm's config (npmrc), then NODE_AUTH_TOKEN. */
  token?: string;
  /** Environment npm's config is read from (tests pass a sandboxed one). */
  env?: NodeJS.ProcessEnv;
  /** A one-time password for registries that require 2FA on writes. */
  otp?: string;
}

/** The variable ao-release reads a registry token from when neither --token nor npmrc gives one. */
export const TOKEN_VARIABLE = 'NODE_AUTH_TOKEN';

export function normalizeRegistry(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The `//host/path/:_authToken` key npm and npm-registry-fetch both read. */
export function authKey(url: string): string {
  return `${normalizeRegistry(url).replace(/^https?:/, '')}:_authToken`;
}

const AUTH_SUFFIXES = [':_authToken', ':_auth', ':username', ':certfile'];

/** npm's flat options from its config files and environment, read the way npm reads them. */
export async function npmConfigOptions(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  return npmFlatOptions({ cwd: process.cwd(), env, npmPath: tmpdir() });
}

/** npm's flat options for this target: its config files and environment, the registry, and the token. */
export async function registryOptions(target: RegistryTarget): Promise<Record<string, unknown>> {
  const env = target.env ?? process.env;
  const opts: Record<string, unknown> = { ...(await npmConfigOptions(env)), registry: normalizeRegistry(target.url) };
  const nerf = authKey(target.url).replace(/:_authToken$/, '');
  const configured = AUTH_SUFFIXES.some((suffix) => opts[`${nerf}${suffix}`] !== undefined);
  const token = target.token ?? (configured ? undefined : env[TOKEN_VARIABLE] || undefined);
  if (token) opts[authKey(target.url)] = token;
  if (target.otp) opts.otp = target.otp;
  // npm waits 10 s, then 60 s, before retrying a refused connection; a release engineer waiting on a
  // dead URL wants the answer in seconds. The number of retries stays the user's.
  opts.retry = { ...(opts.retry as object), factor: 2, minTimeout: 1000, maxTimeout: 4000 };
  return opts;
}

export interface Reader {
  opts: Record<string, unknown>;
  close(): Promise<void>;
}

export async function openReader(target: RegistryTarget): Promise<Reader> {
  const cache = await mkdtemp(join(tmpdir(), 'ao-registry-read-'));
  const opts: Record<string, unknown> = { ...(await registryOptions(target)), cache, preferOnline: true, fullMetadata: true };
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

/** Points `tag` of `name` at `version`, as `npm dist-tag add` does. */
export async function setDistTag(reader: Reader, name: string, version: string, tag: string, registry: string): Promise<void> {
  try {
    await npmFetch(`/-/package/${name.replace('/', '%2f')}/dist-tags/${encodeURIComponent(tag)}`, {
      ...reader.opts,
      method: 'PUT',
      body: JSON.stringify(version),
      headers: { 'content-type': 'application/json' },
      spec: name,
    });
  } catch (err) {
    throw registryError(err, registry, `moving ${tag} of ${name} to ${version}`);
  }
}

/** Turns npm/pacote failures people hit into one-line errors that say what to do. */
export function registryError(err: unknown, registry: string, doing: string, output = ''): UserError {
  const e = err as { code?: string; message?: string; statusCode?: number };
  const text = `${e.code ?? ''} ${e.message ?? ''} ${output}`;
  const last = (
    output
      .trim()
      .split('\n')
      .filter((l) => /npm error|ERR!/.test(l))
      .slice(0, 2)
      .join(' ') ||
    e.message ||
    String(err)
  )
    .split('\n')[0]!
    .trim();
  if (/EOTP|one-time pass/i.test(text)) {
    return new UserError({
      what: `${doing} on ${registry} needs a one-time password`,
      why: 'the account has two-factor authentication for writes',
      fix: 'run the same command again with --otp <code from your authenticator>',
      code: 'EOTP',
      cause: err,
    });
  }
  if (/E401|E403|ENEEDAUTH|Unable to authenticate|need auth|forbidden/i.test(text) && !/previously published|cannot publish over/i.test(text)) {
    return new UserError({
      what: `${doing} on ${registry} was refused`,
      why: `the registry rejected the credentials (${last})`,
      fix: `export ${TOKEN_VARIABLE}=<a publish token for ${registry}> (or pass --token, or npm login --registry ${registry}) and run the same command again`,
      code: 'EAUTH',
      cause: err,
    });
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up|fetch failed/i.test(text)) {
    return new UserError({
      what: `${doing}: cannot reach ${registry}`,
      why: last,
      fix: 'check the --registry URL and your network or proxy, then run the same command again (it resumes)',
      code: 'EUNREACHABLE',
      cause: err,
    });
  }
  if (e.code === 'E404' || e.code === 'ETARGET' || /No matching version/i.test(text)) {
    const spec = (err as { pkgid?: string }).pkgid ?? /No matching version found for (\S+?)\.?(\s|$)/.exec(e.message ?? '')?.[1];
    return new UserError({
      what: `${doing}: ${spec ?? 'a package'} is not in ${registry}`,
      why: e.code === 'E404' ? 'the registry does not have the package' : 'the registry has the package but not that version',
      fix: `ao-release publish --registry ${registry} first (or check --registry and --stage)`,
      code: e.code === 'E404' ? 'E404' : 'ETARGET',
      cause: err,
    });
  }
  if (/EPUBLISHCONFLICT|previously published|cannot publish over|E409/i.test(text)) {
    return new UserError({
      what: `${doing} on ${registry}: that version is already taken`,
      why: last,
      fix: 'versions are immutable: stage a new version (bump it) and publish that',
      code: 'ECONFLICT',
      cause: err,
    });
  }
  return new UserError({
    what: `${doing} on ${registry} failed`,
    why: last,
    fix: 'check the registry URL and its status, then run the same command again (it resumes)',
    code: 'EREGISTRY',
    cause: err,
  });
}
