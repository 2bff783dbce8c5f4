import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { legacyStateDir } from './legacy-paths.js';

/** The file whose presence silences the legacy notice (postinstall/legacy-notice.ts) for good. */
export const DISMISSED_FILE = 'notice-dismissed';

/** `ao-legacy-import dismiss`: the notice stays silent for this user from now on. */
export function dismissLegacyNotice(env: NodeJS.ProcessEnv = process.env): string {
  const state = legacyStateDir(env);
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const file = join(state, DISMISSED_FILE);
  writeFileSync(file, new Date().toISOString() + '\n', { mode: 0o600 });
  return file;
}
