import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A global node_modules holding @aoagents/ao whose ao-manifest.json carries `app`, as the cutover's app step reads it. */
export async function installedPackage(app: unknown): Promise<string> {
  const globalRoot = await mkdtemp(join(tmpdir(), 'ao-app-step-'));
  await mkdir(join(globalRoot, '@aoagents', 'ao'), { recursive: true });
  await writeFile(
    join(globalRoot, '@aoagents', 'ao', 'ao-manifest.json'),
    JSON.stringify({ schema: 1, name: '@aoagents/ao', version: '0.10.0', binaries: {}, app }),
  );
  return globalRoot;
}
