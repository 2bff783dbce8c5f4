import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pacote from 'pacote';
import { renameWithRetry } from '../common/fs-atomic.js';
import { CACHE_DIR } from '../common/paths.js';

/**
 * A registry package the tests and benches run but do not depend on, unpacked once into `<dir>/package`
 * with npm's own fetcher (pacote) against a pinned integrity (a mismatch throws EINTEGRITY), so later
 * runs need no registry. `executable` is made runnable (the tarball's mode is not trusted).
 */
export async function pinnedPackage(spec: string, integrity: string, dir: string, executable: string): Promise<string> {
  const unpacked = join(dir, 'package');
  if (existsSync(join(unpacked, executable))) return unpacked;
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `package.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await pacote.extract(spec, tmp, { integrity, cache: join(CACHE_DIR, 'npm-cache') });
  await chmod(join(tmp, executable), 0o755);
  try {
    await renameWithRetry(tmp, unpacked);
  } catch {
    // A concurrent run finished first (theirs is as good as ours), or an interrupted copy left a folder
    // without the executable, which must not be taken for a complete one.
    if (existsSync(join(unpacked, executable))) await rm(tmp, { recursive: true, force: true });
    else {
      await rm(unpacked, { recursive: true, force: true });
      await renameWithRetry(tmp, unpacked);
    }
  }
  return unpacked;
}
