import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * A throwaway user: own HOME, npm prefix, cache and npmrc, so an install test
 * never touches the machine's. `env` is what a child process should get.
 */
export interface Sandbox {
  root: string;
  home: string;
  prefix: string;
  cache: string;
  npmrc: string;
  /** `<prefix>/bin`, where npm puts global bins on POSIX. */
  binDir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

// SUDO_*: a sandbox is a user of its own, not the sudo session the suite may run in (ao update skips the app under sudo).
const LEAKY = /^(npm_|NPM_|PNPM_|YARN_|BUN_|INIT_CWD$|NODE_OPTIONS$|VITEST|TEST$|AO_|SUDO_)/;

export function createSandbox(options: { registry?: string; npmrc?: string; name?: string } = {}): Sandbox {
  const root = mkdtempSync(join(tmpdir(), `ao-${options.name ?? 'sandbox'}-`));
  const home = join(root, 'home');
  const prefix = join(root, 'prefix');
  const cache = join(root, 'cache');
  for (const d of [home, prefix, cache]) mkdirSync(d, { recursive: true });
  const npmrc = join(home, '.npmrc');
  writeFileSync(npmrc, options.npmrc ?? (options.registry ? `registry=${options.registry}\n` : ''));
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!LEAKY.test(k)) base[k] = v;
  const binDir = join(prefix, 'bin');
  const env: NodeJS.ProcessEnv = {
    ...base,
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    npm_config_userconfig: npmrc,
    npm_config_globalconfig: join(root, 'global-npmrc'),
    npm_config_prefix: prefix,
    npm_config_cache: cache,
    npm_config_loglevel: 'error',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
    ...(options.registry ? { npm_config_registry: options.registry } : {}),
    PATH: [binDir, process.env.PATH ?? ''].join(delimiter),
  };
  return { root, home, prefix, cache, npmrc, binDir, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
