import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../../common/errors.js';
import { homeDir } from '../../../../common/home.js';
import { aoHomeOf, legacyBundlePath } from '../../../../common/legacy-paths.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, validateBundle, type LegacyBundle } from '../bundle.js';
import { exportLegacyHome, hasLegacyHome } from '../export.js';
import { readJsonFile } from '../../../../common/json-file.js';

/** Where the sessions were read from: the bundle the cutover kept, an older cutover's backup, or the legacy home itself. */
export interface SessionsOrigin {
  kind: 'bundle' | 'backup' | 'legacy-home';
  path: string;
}

/**
 * Cutovers made before the bundle moved to `~/.ao/legacy/bundle.json` kept it in their backup,
 * `~/.ao/backups/legacy-<time>/legacy-bundle.json`; the newest complete backup (not `.partial`) wins.
 */
function newestBackupBundle(aoHome: string): string | undefined {
  const dir = join(aoHome, 'backups');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  return names
    .filter((n) => n.startsWith('legacy-') && !n.endsWith('.partial'))
    .sort()
    .reverse()
    .map((n) => join(dir, n, 'legacy-bundle.json'))
    .find((p) => existsSync(p));
}

/** Reads and checks a kept bundle: an unknown format or schema version is refused by name, never half-read. */
export function readBundleFile(path: string): LegacyBundle {
  const parsed = readJsonFile(path, {
    what: 'the legacy bundle',
    fix: 'list the sessions from the legacy home instead: ao-legacy-import sessions --from-legacy-home',
    code: 'EBUNDLE',
  });
  const head = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { format?: unknown; version?: unknown };
  if (head.format !== BUNDLE_FORMAT) {
    throw new UserError({
      what: `${path} is not a legacy bundle`,
      why: `its format is ${JSON.stringify(head.format)}, expected "${BUNDLE_FORMAT}"`,
      fix: 'list the sessions from the legacy home instead: ao-legacy-import sessions --from-legacy-home',
      code: 'EBUNDLE',
    });
  }
  if (head.version !== BUNDLE_VERSION) {
    throw new UserError({
      what: `the legacy bundle ${path} has schema version ${JSON.stringify(head.version)}`,
      why: `this ao-legacy-import reads version ${BUNDLE_VERSION} only${typeof head.version === 'number' && head.version > BUNDLE_VERSION ? '; a newer ao wrote it' : ''}`,
      fix: 'update ao (npm install -g @aoagents/ao@latest), or list the sessions from the legacy home: ao-legacy-import sessions --from-legacy-home',
      code: 'EBUNDLEVERSION',
    });
  }
  return validateBundle(parsed);
}

/**
 * The legacy sessions, read only: the bundle the cutover kept (`~/.ao/legacy/bundle.json`), else the newest
 * cutover backup's bundle, else the legacy home itself (the same reader the cutover uses). Nothing is written.
 */
export async function loadLegacySessions(
  env: NodeJS.ProcessEnv,
  opts: { fromLegacyHome?: boolean } = {},
): Promise<{ bundle: LegacyBundle; origin: SessionsOrigin }> {
  const home = homeDir(env);
  if (!opts.fromLegacyHome) {
    const kept = legacyBundlePath(env);
    if (existsSync(kept)) return { bundle: readBundleFile(kept), origin: { kind: 'bundle', path: kept } };
    const backup = newestBackupBundle(aoHomeOf(env));
    if (backup) return { bundle: readBundleFile(backup), origin: { kind: 'backup', path: backup } };
  }
  if (!hasLegacyHome(home)) {
    throw new UserError({
      what: 'no legacy sessions to list',
      why: `there is no bundle at ${legacyBundlePath(env)} and no legacy home at ${join(home, '.agent-orchestrator')}`,
      fix: 'nothing to resume here; if your legacy home is elsewhere, run with HOME pointing at the home that holds .agent-orchestrator',
      code: 'ENOLEGACY',
    });
  }
  const { bundle } = await exportLegacyHome({ home, env });
  return { bundle, origin: { kind: 'legacy-home', path: join(home, '.agent-orchestrator') } };
}
