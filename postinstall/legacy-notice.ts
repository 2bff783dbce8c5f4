/**
 * Tells a legacy (0.9.x) user who reached the rewrite without the bridge that their projects, sessions and
 * agent resume ids are still in `~/.agent-orchestrator`, and which command imports them (`ao-legacy-import`:
 * the bridge's backup, checks and rollback). Called once by the postinstall and once per launcher run.
 *
 * Cheap on the launcher's path (noticeNeverDue): a stat of the legacy home (a second one for the pre-2026
 * `~/.ao-sessions`), then environment checks, then stats of the import record and the dismissal, then (legacy users
 * only) whether the legacy home holds projects. Only a home with projects, neither imported nor dismissed, reads further,
 * starting with whether stderr is a terminal.
 * "Once" means at most once a day until the home is imported or the notice dismissed: once ever is too easy to
 * miss for someone about to lose a week of work, every call would be noise. It never blocks and never throws.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { homeDir } from '../common/home.js';
import { aoHomeOf, importRecordPath, legacyStateDir } from '../common/legacy-paths.js';
import { DISMISSED_FILE } from '../common/legacy-notice-dismissal.js';
import { untrustedToCreate } from './ownership.js';

export const NOTICE_INTERVAL_MS = 24 * 60 * 60 * 1000;
const SHOWN_FILE = 'notice-shown';

type Stream = { isTTY?: boolean; write(text: string): unknown };

const on = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

function mtimeMs(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Projects in any legacy generation: V2 `projects/<id>`, a V1 storage dir with `sessions/`, config entries, V0
 * `~/.ao-sessions/<id>`. On bin/ao's usual path for a legacy home (noticeNeverDue): paths by hand, not path.join.
 */
export function legacyHomeHasProjects(home: string): boolean {
  const base = `${home}/.agent-orchestrator`;
  if (entries(`${base}/projects`).length > 0) return true;
  if (entries(`${home}/.ao-sessions`).length > 0) return true;
  if (entries(base).some((n) => /^[0-9a-f]{12}/.test(n) && statSync(`${base}/${n}/sessions`, { throwIfNoEntry: false })?.isDirectory())) return true;
  try {
    // A block or flow mapping under a top-level `projects:` key with at least one entry; no YAML parser here.
    return /^projects:[ \t]*(\r?\n[ \t]+[^\s#]|\{[ \t]*[^\s}])/m.test(readFileSync(`${base}/config.yaml`, 'utf8'));
  } catch {
    return false;
  }
}

/** Where the notice can reach the user: stderr when it is a terminal; from an npm install script, which npm runs with its output hidden, the terminal itself. */
function terminal(stderr: Stream, context: 'install' | 'launch', forced: boolean): Stream | undefined {
  if (stderr.isTTY || forced) return stderr;
  if (context !== 'install' || process.platform === 'win32') return undefined;
  try {
    const fd = openSync('/dev/tty', 'w');
    return {
      write(text: string) {
        try {
          writeSync(fd, text);
        } finally {
          closeSync(fd);
        }
      },
    };
  } catch {
    return undefined; // no controlling terminal (CI, a service): nobody to tell
  }
}

/**
 * The notice's cheap answers, asked first: no legacy folder at all, silenced (AO_NO_LEGACY_NOTICE, or CI unless
 * AO_LEGACY_NOTICE), imported, dismissed, or with no projects to import. bin/ao's usual path asks only this, on every
 * call, and leaves a call it answers no to the full launcher (launcher-entry.ts), whose paths are put together by hand,
 * not path.join (it says why).
 */
export function noticeNeverDue(env: NodeJS.ProcessEnv, home: string): boolean {
  if (mtimeMs(`${home}/.agent-orchestrator`) === undefined && mtimeMs(`${home}/.ao-sessions`) === undefined) return true;
  if (on(env.AO_NO_LEGACY_NOTICE) || (on(env.CI) && !on(env.AO_LEGACY_NOTICE))) return true;
  if (mtimeMs(importRecordPath(env)) !== undefined || mtimeMs(join(legacyStateDir(env), DISMISSED_FILE)) !== undefined) return true;
  // Nothing to import (a legacy home left empty, or its config alone): read last, by legacy users only. Left to the full
  // launcher, every call of theirs had paid its load for a notice never shown.
  return !legacyHomeHasProjects(home);
}

function noticeText(home: string): string {
  return [
    `ao: your projects and agent sessions from the legacy ao (0.9 and before) are still in ${join(home, '.agent-orchestrator')}; this ao has not imported them.`,
    '  import them (backup first, legacy files only read):  ao-legacy-import',
    '  see each session and the command that resumes it:  ao-legacy-import sessions',
    '  stop this notice:  ao-legacy-import dismiss  (or set AO_NO_LEGACY_NOTICE=1)',
    '',
  ].join('\n');
}

/**
 * Prints the notice if a legacy home with projects is not imported, not dismissed, and the notice was not shown in
 * the last day. Silent with AO_NO_LEGACY_NOTICE, in CI, and when stderr is not a terminal, unless AO_LEGACY_NOTICE=1;
 * silent as root in a home that is not root's.
 */
export function legacyNotice(context: 'install' | 'launch', env: NodeJS.ProcessEnv = process.env, stream?: Stream, now = Date.now()): boolean {
  try {
    const home = homeDir(env);
    if (noticeNeverDue(env, home)) return false;
    const forced = on(env.AO_LEGACY_NOTICE);
    // Node builds process.stderr on first use, with its stream modules (milliseconds): only a legacy user pays that.
    const stderr = stream ?? process.stderr;
    if (!forced && !stderr.isTTY && context === 'launch') return false;
    // `ao update` installing this package: the cutover under way imports the home and speaks for itself.
    if (context === 'install' && mtimeMs(join(aoHomeOf(env), 'cutover', 'journal.json')) !== undefined) return false;
    const state = legacyStateDir(env);
    // Root in another user's home (`sudo ao`, `sudo npm i -g` keeping HOME): a root-owned ~/.ao would lock the user's
    // own ao out of it. The notice is theirs to see, on their own next call.
    if (process.getuid?.() === 0 && untrustedToCreate(state, 0)) return false;
    const shown = mtimeMs(join(state, SHOWN_FILE));
    if (shown !== undefined && now - shown < NOTICE_INTERVAL_MS) return false;
    const out = terminal(stderr, context, forced);
    if (!out) return false;
    out.write(noticeText(home));
    markShown(state, now);
    return true;
  } catch {
    return false; // never fail or slow the user's command over a notice
  }
}

function markShown(state: string, now: number): void {
  try {
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const file = join(state, SHOWN_FILE);
    writeFileSync(file, new Date(now).toISOString() + '\n', { mode: 0o600 });
    utimesSync(file, now / 1000, now / 1000);
  } catch {
    // unwritable ~/.ao: the notice shows again next time, which is better than never
  }
}
