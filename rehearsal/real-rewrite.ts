import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pacote from 'pacote';
import { renameWithRetry } from '../common/fs-atomic.js';
import { CACHE_DIR } from '../common/paths.js';
import { pinnedPackage } from './pinned-package.js';

/**
 * The real rewrite's published binary, `@aoagents/ao-linux-x64@0.10.3` (../shared/real-rewrite.md),
 * fetched once with npm's own fetcher (pacote) against the integrity recorded there, and kept
 * under .cache/ so later runs need no registry.
 */
export const REAL_REWRITE = {
  spec: '@aoagents/ao-linux-x64@0.10.3',
  version: '0.10.3',
  integrity: 'sha512-B74xSc073V9hjIoZs860m7hbm/7rgjjuV7mkEdeVU8WaJKylBhkHit90qclaC6ol8UJw/AA1j5syLLF9RND+9A==',
  binarySize: 23_078_286,
  /** What its --version prints: it was released unstamped. */
  reportedVersion: 'dev',
} as const;

const ROOT = join(CACHE_DIR, 'real-rewrite', REAL_REWRITE.version);

/** The registry tarball, integrity-checked by pacote (a mismatch throws EINTEGRITY). */
export async function realRewriteTarball(): Promise<string> {
  const file = join(ROOT, 'package.tgz');
  if (existsSync(file)) return file;
  await mkdir(ROOT, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await pacote.tarball.file(REAL_REWRITE.spec, tmp, { integrity: REAL_REWRITE.integrity, cache: join(CACHE_DIR, 'npm-cache') });
  await renameWithRetry(tmp, file);
  return file;
}

/** The unpacked `bin/ao` (Linux x64 only: it is the one platform package the rewrite published). */
export async function realRewriteBinary(): Promise<string> {
  const tarball = await realRewriteTarball();
  return join(await pinnedPackage(`file:${tarball}`, REAL_REWRITE.integrity, ROOT, 'bin/ao'), 'bin', 'ao');
}

/** Whether this host can run the real binary (it exists for linux-x64 only). */
export const canRunRealRewrite = process.platform === 'linux' && process.arch === 'x64';
