import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../common/errors.js';
import { installLayout } from '../../common/install-layout.js';
import type { PackageManagerInfo } from './journal.js';
import { runCommand } from './run.js';

export const PACKAGE_NAME = '@aoagents/ao';

/**
 * Which package manager installed the running `@aoagents/ao` globally, and its
 * global node_modules folder (the install and the checks use it); undefined
 * for a project install or a checkout. Asks common/install-layout.ts, the one
 * module that knows install layouts.
 */
export function detectPackageManager(packageRealPath: string, env: NodeJS.ProcessEnv = process.env): PackageManagerInfo | undefined {
  const layout = installLayout(packageRealPath, env);
  return layout.global && layout.globalRoot ? { name: layout.manager, globalRoot: layout.globalRoot } : undefined;
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
    throw new UserError({
      what: `cannot find ${pm.name}'s global bin folder`,
      why: `\`${cmd} ${args.join(' ')}\` failed: ${res.stderr.trim().slice(-300)}`,
      fix: `check that ${pm.name} runs`,
    });
  }
  return pm.name === 'npm' && process.platform !== 'win32' ? join(out, 'bin') : out;
}

export function aoExecutable(binDir: string): string {
  return join(binDir, process.platform === 'win32' ? 'ao.cmd' : 'ao');
}
