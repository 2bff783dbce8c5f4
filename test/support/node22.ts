import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../common/paths.js';

/**
 * Node 22 beside the Node running the tests (which is the machine's own: Node 20 here), fetched by
 * scripts/ensure-node22.mjs before `npm test` runs.
 */
export const NODE22_BIN = join(REPO_ROOT, '.cache', 'node22', 'package', 'bin');
export const NODE22 = join(NODE22_BIN, process.platform === 'win32' ? 'node.exe' : 'node');
export const hasNode22 = existsSync(NODE22);
