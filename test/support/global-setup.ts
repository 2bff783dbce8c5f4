import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { canRunPinnedNode, pinnedNode } from '../../rehearsal/pinned-node.js';

/**
 * Before any test file starts: builds the fixture for the whole matrix once (before files race for the
 * cache), and fetches the pinned Node 20, 22 and 24 the launcher tests run, so a slow registry download is
 * paid once here, under no test's timeout, instead of inside one file's beforeAll.
 */
export default async function setup(): Promise<void> {
  await Promise.all([fixtureBinaries('0.10.0'), ...(canRunPinnedNode ? [pinnedNode(20), pinnedNode(22), pinnedNode(24)] : [])]);
}
