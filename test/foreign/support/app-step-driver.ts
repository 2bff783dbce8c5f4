// Bundled by the Wine test and run with node.exe: the cutover's desktop-app step
// for an npm global root (argv[2]), with the environment Windows gives (no HOME),
// writing what it did and USERPROFILE to the file named in argv[3].
import { writeFileSync } from 'node:fs';
import { fetchAppStep, installedPackageAppFetcher } from '../../../installer/cutover/steps/app.js';

async function main(): Promise<void> {
  const env = { ...process.env };
  delete env.HOME;
  const outcome = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot: process.argv[2]! }), {
    home: env.USERPROFILE!,
    env,
    log: () => undefined,
  });
  writeFileSync(process.argv[3]!, JSON.stringify({ outcome, userProfile: process.env.USERPROFILE }));
}
void main();
