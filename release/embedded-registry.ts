import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../common/errors.js';
import { freePort } from '../common/free-port.js';

/**
 * A real npm registry (Verdaccio) on loopback with its own temporary storage
 * and no uplinks: the default target of the release tools and of the tests.
 */
export interface EmbeddedRegistry {
  url: string;
  storageDir: string;
  /** A token npm accepts for this registry (Verdaccio allows anonymous publish, npm still wants one). */
  authToken: string;
  /** `.npmrc` lines that point npm, pnpm, yarn 1 and bun at this registry. */
  npmrc: string;
  stop(): Promise<void>;
}

function verdaccioConfig(storage: string, port: number, requireAuth: boolean): string {
  return [
    `storage: ${JSON.stringify(storage)}`,
    `listen: 127.0.0.1:${port}`,
    'max_body_size: 200mb',
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(join(storage, 'htpasswd'))}`,
    `    max_users: ${requireAuth ? 1 : -1}`,
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    `    publish: ${requireAuth ? '$authenticated' : '$anonymous'}`,
    `    unpublish: ${requireAuth ? '$authenticated' : '$anonymous'}`,
    'security:',
    '  api:',
    '    legacy: true',
    'server:',
    '  keepAliveTimeout: 60',
    'log: { type: stdout, format: json, level: warn }',
    'web:',
    '  enable: false',
    '',
  ].join('\n');
}

/**
 * `requireAuth`: writes need a real login (a registry like npmjs); `authToken` is then a token
 * Verdaccio issued for a user created at start-up.
 */
export async function startEmbeddedRegistry(options: { storageDir?: string; requireAuth?: boolean } = {}): Promise<EmbeddedRegistry> {
  const storageDir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'ao-registry-')));
  await mkdir(storageDir, { recursive: true });
  const port = await freePort();
  const configPath = join(storageDir, 'config.yaml');
  await writeFile(configPath, verdaccioConfig(join(storageDir, 'storage'), port, options.requireAuth ?? false));
  const bin = createRequire(import.meta.url).resolve('verdaccio/bin/verdaccio');
  const child: ChildProcess = spawn(process.execPath, [bin, '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new UserError({
        what: 'the embedded registry (Verdaccio) did not start',
        why: output.trim().split('\n').slice(-3).join(' | ') || `exit ${child.exitCode}`,
        fix: 'run `npm ci` in the toolkit checkout',
      });
    }
    try {
      const res = await fetch(`${url}-/ping`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new UserError({ what: 'the embedded registry (Verdaccio) did not answer within 30 s', why: output.trim().slice(-300) || 'no output' });
    }
    await sleep(100);
  }
  const authToken = options.requireAuth ? await createUser(url) : 'ao-embedded-registry';
  const hostPath = `//127.0.0.1:${port}/`;
  return {
    url,
    storageDir,
    authToken,
    npmrc: `registry=${url}\n${hostPath}:_authToken=${authToken}\n`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!options.storageDir) await rm(storageDir, { recursive: true, force: true });
    },
  };
}

/** Registers a user the way `npm adduser` does and returns the token Verdaccio issues. */
async function createUser(url: string): Promise<string> {
  const name = 'ao-release';
  const res = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: 'ao-release-password' }),
  });
  const body = (await res.json()) as { token?: string };
  if (!res.ok || !body.token)
    throw new UserError({ what: 'the embedded registry did not create its user', why: `HTTP ${res.status}`, fix: 'run `npm ci` in the toolkit checkout' });
  return body.token;
}
