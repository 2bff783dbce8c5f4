import { chmod, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { create } from 'tar';
import { digestFile, type FileDigest } from '../common/integrity.js';

/** npm's own fixed tarball date: the same inputs always give the same bytes. */
const FIXED_MTIME = new Date('1985-10-26T08:15:00.000Z');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Packs a package folder the way npm lays out a tarball (`package/...`), but
 * deterministically: sorted entries, a fixed mtime, no owner, modes normalised
 * to 0644 or 0755. Staging the same inputs twice gives byte-identical tarballs.
 */
export async function packDeterministic(dir: string, tarballPath: string): Promise<FileDigest & { files: string[] }> {
  const files = await listFiles(dir);
  for (const f of files) {
    const p = join(dir, f);
    const executable = ((await stat(p)).mode & 0o111) !== 0;
    await chmod(p, executable ? 0o755 : 0o644);
  }
  await create({ file: tarballPath, cwd: dir, gzip: { level: 9 }, portable: true, mtime: FIXED_MTIME, prefix: 'package', noDirRecurse: true }, files);
  return { ...(await digestFile(tarballPath)), files };
}
