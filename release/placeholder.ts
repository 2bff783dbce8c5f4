import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packDeterministic } from './pack.js';

/**
 * npm's registry and Verdaccio give a brand-new package `latest` on its first publish,
 * whatever `--tag` says, and refuse to remove it. So before the first real version of a
 * package goes out, this placeholder takes `latest`: the staged release stays off
 * `latest` until promote moves it, and `npm install` of the name gets nothing runnable.
 * Below every real version, so no range a user writes matches it.
 */
export const PLACEHOLDER_VERSION = '0.0.0-placeholder';

export async function packPlaceholder(name: string, mainPackage: string, workDir: string): Promise<{ tarball: string; integrity: string }> {
  const dir = join(workDir, name.replace(/[@/]/g, '_'));
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name, version: PLACEHOLDER_VERSION, description: `Reserves ${name} until the first release of ${mainPackage} is promoted. Install ${mainPackage}@next or an exact version.`, license: 'MIT' }, null, 2)}\n`,
  );
  await writeFile(
    join(dir, 'README.md'),
    `# ${name}\n\nNot released yet: this placeholder holds \`latest\` until the first release of \`${mainPackage}\` is promoted.\n`,
  );
  const tarball = join(workDir, `${name.replace(/^@/, '').replace('/', '-')}-${PLACEHOLDER_VERSION}.tgz`);
  const packed = await packDeterministic(dir, tarball);
  return { tarball, integrity: packed.integrity };
}
