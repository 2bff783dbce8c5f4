import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { shellQuote } from '../common/shell-quote.js';

/**
 * Telling a launcher inside its package from a copy of it elsewhere, for the launcher's entry (bin/ao) and its full
 * part (launcher.ts): `cp` or `ln` of `bin/ao` into ~/bin or /usr/local/bin finds neither the manifest nor the rest
 * of the launcher beside it, and only a symbolic link leads back to the package.
 */

/** The package.json above the launcher when it is the package that declares this launcher as its `ao`. */
export function ownPackage(packageDir: string): { name: string; version: string } | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string; bin?: Record<string, string> };
    return pkg.bin?.ao === 'bin/ao' ? pkg : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `packageDir` is where every package manager puts ao (`node_modules/@aoagents/ao`): its package, though a
 * yarn 1 upgrade may have unlinked its package.json for the moment; a copy of bin/ao in ~/bin is elsewhere.
 */
export const inPackageFolder = (packageDir: string): boolean => /[\\/]node_modules[\\/]@aoagents[\\/]ao$/.test(packageDir);

/** `launcher` (the `bin/ao` that ran) is a copy or hard link outside its package: `missing` is not beside it. */
export function launcherCopy(launcher: string, missing: string, cause?: unknown): UserError {
  return new UserError({
    what: `${launcher} is a copy of the ao launcher outside its package`,
    why: `there is no ${missing}: a copy or hard link of the launcher cannot find the ao binary, a symbolic link can`,
    fix: `rm ${shellQuote(launcher)} && ln -s <the ao your package manager installed> ${shellQuote(launcher)}`,
    code: 'EAOCOPY',
    cause,
  });
}
