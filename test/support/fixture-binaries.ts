import { join } from 'node:path';
import { loadMatrix, type Target } from '../../common/matrix.js';
import { OUT_DIR, REPO_ROOT } from '../../common/paths.js';
import { buildGoBinaries } from '../../release/go-build.js';

export const FIXTURE_SOURCE = join(REPO_ROOT, 'test', 'fixture-go');

/** The fixture binary for every target at `version`, in the `<target>/<exe>` layout (built once, cached). */
export async function fixtureBinaries(version: string, targets: Target[] = loadMatrix().targets): Promise<string> {
  const outDir = join(OUT_DIR, 'fixture-bins', version);
  await buildGoBinaries({ sourceDir: FIXTURE_SOURCE, version, targets, outDir });
  return outDir;
}

/** The fixture binary for the machine running the tests. */
export async function hostFixtureBinary(version: string): Promise<string> {
  const target = loadMatrix().targets.find((t) => t.os === process.platform && t.cpu === process.arch);
  if (!target) throw new Error(`no matrix target for ${process.platform}-${process.arch}`);
  const dir = await fixtureBinaries(version, [target]);
  return join(dir, target.id, target.executable);
}
