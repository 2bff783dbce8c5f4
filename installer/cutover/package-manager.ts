import { readFileSync, realpathSync } from 'node:fs';
import { homeDir } from '../../common/home.js';
import { dirname, join, sep } from 'node:path';
import { UserError } from '../../common/errors.js';
import type { PackageManagerInfo } from './journal.js';
import { runCommand } from './run.js';

export const PACKAGE_NAME = '@aoagents/ao';

/**
 * Which package manager installed the running `@aoagents/ao`, judged from the
 * package's real path the way the legacy `ao update` did, plus yarn 1 and bun.
 * Returns the global node_modules folder too: the install and the checks use it.
 */
export function detectPackageManager(packageRealPath: string, env: NodeJS.ProcessEnv = process.env): PackageManagerInfo | undefined {
  const p = packageRealPath.split(sep).join('/');
  const bunRoot = join(env.BUN_INSTALL ?? join(homeDir(env), '.bun'), 'install', 'global', 'node_modules').split(sep).join('/');
  if (p.startsWith(`${bunRoot}/`)) return { name: 'bun', globalRoot: fromPosix(bunRoot) };
  const pnpm = /^(.*\/pnpm\/global\/[^/]+)\//.exec(p);
  if (pnpm) return { name: 'pnpm', globalRoot: fromPosix(`${pnpm[1]}/node_modules`) };
  const yarn = /^(.*\/yarn\/global\/node_modules)\//.exec(p) ?? /^(.*\/\.config\/yarn\/global\/node_modules)\//.exec(p);
  if (yarn) return { name: 'yarn', globalRoot: fromPosix(yarn[1]!) };
  const npm = /^(.*\/lib\/node_modules)\//.exec(p) ?? (process.platform === 'win32' ? /^(.*\/node_modules)\/@aoagents\/ao(\/|$)/.exec(p) : null);
  if (npm) return { name: 'npm', globalRoot: fromPosix(npm[1]!) };
  return undefined;
}

function fromPosix(p: string): string {
  return p.split('/').join(sep);
}

/** The folder of the `@aoagents/ao` package that contains `file` (the running cutover bundle). */
export function packageDirOf(file: string): string | undefined {
  let dir = dirname(realpathSync(file));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      // Not a package root; keep walking up.
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function installedVersion(pm: PackageManagerInfo): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(pm.globalRoot, ...PACKAGE_NAME.split('/'), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version;
  } catch {
    return undefined;
  }
}

/** The exact global install command: a pinned spec or a verified tarball, never `@latest`, never `update -g`. */
export function installArgs(pm: PackageManagerInfo['name'], spec: string): [string, string[]] {
  switch (pm) {
    case 'npm':
      return ['npm', ['install', '-g', spec]];
    case 'pnpm':
      return ['pnpm', ['add', '-g', spec]];
    case 'yarn':
      return ['yarn', ['global', 'add', spec]];
    case 'bun':
      return ['bun', ['add', '-g', spec]];
  }
}

/** Where the package manager puts global bins (`ao` lives there). */
export async function globalBinDir(pm: PackageManagerInfo, env: NodeJS.ProcessEnv): Promise<string> {
  const query: Record<PackageManagerInfo['name'], [string, string[]]> = {
    npm: ['npm', ['prefix', '-g']],
    pnpm: ['pnpm', ['bin', '-g']],
    yarn: ['yarn', ['global', 'bin']],
    bun: ['bun', ['pm', 'bin', '-g']],
  };
  const [cmd, args] = query[pm.name];
  const res = await runCommand(cmd, args, { env, timeoutMs: 30_000 });
  const out = res.stdout.trim().split('\n').pop()?.trim();
  if (res.code !== 0 || !out) {
    throw new UserError({ what: `cannot find ${pm.name}'s global bin folder`, why: `\`${cmd} ${args.join(' ')}\` failed: ${res.stderr.trim().slice(-300)}`, fix: `check that ${pm.name} runs` });
  }
  return pm.name === 'npm' && process.platform !== 'win32' ? join(out, 'bin') : out;
}

export function aoExecutable(binDir: string): string {
  return join(binDir, process.platform === 'win32' ? 'ao.cmd' : 'ao');
}
