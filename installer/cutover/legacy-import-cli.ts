/**
 * `ao-legacy-import`, shipped in the rewrite's package for users who installed
 * 0.10.0 directly: backup, import, reconcile and health check of the legacy
 * home, with the same journal as `ao update` (no package install). Run from the
 * package's `bin/`, it uses the package's own `ao`.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCutover } from './cutover.js';
import { packageDirOf } from './package-manager.js';

export async function runLegacyImport(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const pkgDir = packageDirOf(fileURLToPath(import.meta.url));
  if (!pkgDir) {
    process.stderr.write('ao-legacy-import: cannot find the @aoagents/ao package this runs from\n  fix: npm install -g @aoagents/ao, then run ao-legacy-import\n');
    return 1;
  }
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  return runCutover({ mode: 'legacy-import', argv, target: version, ao: join(pkgDir, 'bin', 'ao'), env });
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) void runLegacyImport(process.argv.slice(2)).then((code) => process.exit(code));
