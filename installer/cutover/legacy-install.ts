import { UserError } from '../../common/errors.js';
import type { CutoverOptions } from './options.js';
import type { PackageManagerInfo } from './journal.js';
import { detectPackageManager, packageDirOf, PACKAGE_NAME } from './package-manager.js';

/**
 * The legacy install a cutover replaces: `ao update` runs from the 0.9.6 package and replaces it
 * through the package manager that installed it; `ao-legacy-import` runs on the rewrite and replaces none.
 */
export type LegacyInstall = { kind: 'package'; pm: PackageManagerInfo; version: string } | { kind: 'none' };

/** The package manager that installed the running legacy package (from its real path), else the one a crashed run recorded. */
export function locateLegacy(opts: CutoverOptions, env: NodeJS.ProcessEnv, fromJournal: PackageManagerInfo | undefined): PackageManagerInfo {
  const pkgDir = opts.selfFile ? packageDirOf(opts.selfFile) : undefined;
  const pm = (pkgDir ? detectPackageManager(pkgDir, env) : undefined) ?? fromJournal;
  if (!pm) {
    throw new UserError({
      what: 'cannot tell how ao was installed',
      why: `${pkgDir ?? opts.selfFile ?? 'the running ao'} is not in an npm, pnpm, yarn or bun global folder`,
      fix: `install the new ao yourself (npm install -g ${PACKAGE_NAME}@${opts.target}), then run ao-legacy-import`,
      code: 'EPM',
    });
  }
  return pm;
}
