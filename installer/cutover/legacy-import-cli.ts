/**
 * `ao-legacy-import`, shipped in the rewrite's package for users who installed
 * 0.10.0 directly: backup, import, reconcile and health check of the legacy
 * home, with the same journal as `ao update` (no package install). Run from the
 * package's `bin/`, it uses the package's own `ao`.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCutover } from './cutover.js';
import { packageDirOf } from './package-manager.js';

export async function runLegacyImport(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const pkgDir = packageDirOf(self);
  const sibling = pkgDir ? join(pkgDir, 'bin', 'ao') : join(dirname(self), 'ao');
  const ao = env.AO_LEGACY_IMPORT_AO ?? (existsSync(sibling) ? sibling : 'ao');
  const version = pkgDir ? (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version : (env.AO_LEGACY_IMPORT_VERSION ?? '');
  if (!version) {
    process.stderr.write('ao-legacy-import: cannot tell which ao version this is; run it from the installed @aoagents/ao\n');
    return 1;
  }
  return runCutover({ mode: 'legacy-import', argv, target: version, ao, env });
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) void runLegacyImport(process.argv.slice(2)).then((code) => process.exit(code));
