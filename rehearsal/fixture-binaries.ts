import { join } from 'node:path';
import { loadMatrix, type Target } from '../common/matrix.js';
import { OUT_DIR, REPO_ROOT } from '../common/paths.js';
import { buildGoBinaries } from '../release/go-build.js';

export const FIXTURE_SOURCE = join(REPO_ROOT, 'test', 'fixture-go');
/** Laid out like the rewrite's backend: main package ./cmd/ao, build metadata in internal/cli. */
export const FIXTURE_MAIN_PACKAGE = './cmd/ao';
export const FIXTURE_VERSION_VARIABLE = 'example.invalid/ao-fixture/internal/cli.Version';

/** The fixture binary for every target at `version`, in the `<target>/<exe>` layout (built once, cached). */
export async function fixtureBinaries(version: string, targets: Target[] = loadMatrix().targets): Promise<string> {
  const outDir = join(OUT_DIR, 'fixture-bins', version);
  await buildGoBinaries({
    sourceDir: FIXTURE_SOURCE,
    mainPackage: FIXTURE_MAIN_PACKAGE,
    versionVariable: FIXTURE_VERSION_VARIABLE,
    version,
    targets,
    outDir,
    vcs: false,
  });
  return outDir;
}

/** The fixture binary for the machine running the tests. */
export async function hostFixtureBinary(version: string): Promise<string> {
  const target = loadMatrix().targets.find((t) => t.os === process.platform && t.cpu === process.arch);
  if (!target) throw new Error(`no matrix target for ${process.platform}-${process.arch}`);
  const dir = await fixtureBinaries(version, [target]);
  return join(dir, target.id, target.executable);
}
