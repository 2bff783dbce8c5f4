import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packDeterministic } from '../../release/pack.js';
import { STAGE_FILE, type StageResult } from '../../release/stage.js';

/** The stage folder of a StageResult (stage.json sits beside tarballs/ and packages/). */
export function stageDirOf(staged: StageResult): string {
  return dirname(dirname(staged.packages[0]!.tarball));
}

/**
 * Copies a stage folder, lets `mutate` change one package's folder, and re-packs it with
 * stage.json updated, as a buggy build would have produced it (so only verify's content
 * checks can catch it).
 */
export async function corruptedCopy(staged: StageResult, packageName: string, mutate: (packageDir: string) => Promise<void>): Promise<string> {
  const from = stageDirOf(staged);
  const to = await mkdtemp(join(tmpdir(), 'ao-stage-bad-'));
  await cp(from, to, { recursive: true });
  const result = JSON.parse((await readFile(join(to, STAGE_FILE), 'utf8')).split(from).join(to)) as StageResult;
  const pkg = result.packages.find((p) => p.name === packageName)!;
  await mutate(pkg.dir);
  pkg.integrity = (await packDeterministic(pkg.dir, pkg.tarball)).integrity;
  await writeFile(join(to, STAGE_FILE), JSON.stringify(result, null, 2));
  return to;
}
