import { fixtureBinaries } from '../../../rehearsal/fixture-binaries.js';
import { laneTools } from './foreign.js';

/**
 * Builds the fixture for the whole matrix once. scripts/foreign-setup.mjs has
 * already run (npm run test:foreign calls it first); the teardown undoes any
 * binfmt registration an arm64 file left behind, even when a test failed or
 * the file was killed mid-way.
 */
export default async function setup(): Promise<() => Promise<void>> {
  for (const lane of ['wine', 'arm64'] as const) {
    const { skip } = laneTools(lane);
    if (skip) process.stderr.write(`foreign lane: every ${lane === 'wine' ? 'win32-x64 (Wine)' : 'linux-arm64 (qemu)'} test is skipped: ${skip}\n`);
  }
  await fixtureBinaries('0.10.0');
  return async () => {
    const { undoBinfmt } = (await import('../../../scripts/foreign-teardown.mjs')) as { undoBinfmt: () => string[] };
    for (const line of undoBinfmt()) process.stderr.write(`foreign-teardown: ${line}\n`);
  };
}
