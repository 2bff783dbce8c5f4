/**
 * `ao-legacy-import`, shipped in the rewrite's package for users who installed
 * 0.10.0 directly: backup, import, reconcile and health check of the legacy
 * home, with the same journal as `ao update` (no package install). Run from the
 * package's `bin/`, it uses the package's own `ao`.
 * `sessions` and `resume` list the legacy sessions and resume an agent's
 * conversation (read only); `dismiss` silences the legacy-home notice.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropWritesToClosedPipes } from '../../common/closed-pipe.js';
import { formatError, UserError } from '../../common/errors.js';
import { dismissLegacyNotice } from '../../common/legacy-notice-dismissal.js';
import { runCutover } from './cutover.js';
import { RESUME_USAGE, runResumeCommand, runSessionsCommand, SESSIONS_USAGE } from './legacy/guide/cli.js';
import { packageDirOf } from './package-manager.js';

export async function runLegacyImport(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const pkgDir = packageDirOf(fileURLToPath(import.meta.url));
  if (!pkgDir) {
    process.stderr.write(
      'ao-legacy-import: cannot find the @aoagents/ao package this runs from\n  fix: npm install -g @aoagents/ao, then run ao-legacy-import\n',
    );
    return 1;
  }
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  return runCutover({ mode: 'legacy-import', argv, target: version, ao: join(pkgDir, 'bin', 'ao'), env });
}

const HELP = [
  'usage: ao-legacy-import [--check] [--yes] [--force-migrate] [--ready-timeout <seconds>]   import ~/.agent-orchestrator (backup first)',
  `       ${SESSIONS_USAGE.replace('usage: ', '')}`,
  `       ${RESUME_USAGE.replace('usage: ', '')}`,
  '       ao-legacy-import dismiss   stop the notice about a legacy home that was not imported (or set AO_NO_LEGACY_NOTICE=1)',
].join('\n');

/** The subcommands, else the import itself (its flags unchanged). */
export async function legacyImportMain(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const io = { env, stdout: process.stdout, stderr: process.stderr };
  if (argv[0] === 'sessions') return runSessionsCommand(argv.slice(1), io);
  if (argv[0] === 'resume') return runResumeCommand(argv.slice(1), io);
  if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (argv[0] === 'dismiss') {
    let marker: string;
    try {
      marker = dismissLegacyNotice(env);
    } catch (cause) {
      // A read-only home, or a file where ~/.ao should be: the variable silences the notice without writing anything.
      const err = new UserError({
        what: 'cannot record that the legacy-home notice is dismissed',
        why: (cause as Error).message,
        fix: 'set AO_NO_LEGACY_NOTICE=1 in your shell profile, or make ~/.ao a folder you can write, then run ao-legacy-import dismiss again',
      });
      process.stderr.write(`${formatError(err, 'ao-legacy-import')}\n`);
      return 1;
    }
    process.stderr.write(`ao-legacy-import: the legacy-home notice will not show again (remove ${marker} to undo)\n`);
    return 0;
  }
  return runLegacyImport(argv, env);
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  dropWritesToClosedPipes();
  const argv = process.argv.slice(2);
  void legacyImportMain(argv).then((code) => {
    // The guide lets the loop drain (a long `sessions --json` on a pipe is written out whole); the import exits at once, as before.
    if (['sessions', 'resume', 'dismiss', 'help', '--help', '-h'].includes(argv[0]!)) process.exitCode = code;
    else process.exit(code);
  });
}
