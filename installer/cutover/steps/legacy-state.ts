import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../../common/fs-atomic.js';
import type { RewritePaths } from '../rewrite.js';

/**
 * Writes one of the files the toolkit keeps from a legacy home into `~/.ao/legacy` (common/legacy-paths.ts):
 * the bundle carries secrets, so the folder is 0700 (made so even when it existed), the file 0600, atomically.
 */
export async function writeLegacyState(paths: RewritePaths, name: 'bundle.json' | 'imported.json', value: unknown): Promise<string> {
  const dir = join(paths.aoHome, 'legacy');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, name);
  await writeJsonAtomic(file, value, 0o600);
  return file;
}
