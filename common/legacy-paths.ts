import { join } from 'node:path';
import { homeDir } from './home.js';

/**
 * Where the toolkit keeps what it carried over from a legacy (0.9.x) home, under the AO home `~/.ao` (the rewrite
 * reads no AO_HOME, so neither does this). Node built-ins only: the launcher imports this.
 * - `bundle.json`: the legacy bundle the cutover keeps (sessions with their resume ids; mode 0600).
 * - `imported.json`: the import record, written last by a successful cutover or `ao-legacy-import`.
 */
export function aoHomeOf(env: NodeJS.ProcessEnv): string {
  return join(homeDir(env), '.ao');
}

export function legacyStateDir(env: NodeJS.ProcessEnv): string {
  return join(aoHomeOf(env), 'legacy');
}

export function legacyBundlePath(env: NodeJS.ProcessEnv): string {
  return join(legacyStateDir(env), 'bundle.json');
}

export function importRecordPath(env: NodeJS.ProcessEnv): string {
  return join(legacyStateDir(env), 'imported.json');
}
