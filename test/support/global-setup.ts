import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';

/** Builds the fixture for the whole matrix once, before test files race for the cache. */
export default async function setup(): Promise<void> {
  await fixtureBinaries('0.10.0');
}
