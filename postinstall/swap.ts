/**
 * Putting the native binary in the launcher's place (`<pkg>/bin/ao`), so `ao`
 * runs without a Node start-up. Only the postinstall does this, and only where
 * the install layout allows it (see common/install-layout.ts swapBlocker): a
 * launcher that swapped itself on a later run could not stop a process the
 * kernel had already started through its `#!/usr/bin/env node` line from
 * reading the binary as JavaScript.
 */
import { chmodSync, linkSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { removeKilledTempSiblings, tempSibling } from '../common/fs-atomic.js';
import type { BinaryEntry } from '../common/ao-manifest.js';
import { checkBinary } from './verify-binary.js';

const launcherOf = (packageDir: string) => join(packageDir, 'bin', 'ao');
const TEMP_TAG = 'swap';

function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** A hard link shares the file's owner and every later change to it: only for a file inside our own package, owned like bin/. */
function mayLink(packageDir: string, binary: string): boolean {
  const inside = realpathSync(binary).startsWith(realpathSync(packageDir) + sep);
  return inside && statSync(binary).uid === statSync(join(packageDir, 'bin')).uid;
}

/**
 * Hard link (or copy, then check the copy against the manifest) the verified
 * binary to a temp sibling, then one rename: `ao` is the launcher or the
 * binary, never half of one. Already in place (`npm rebuild`): nothing to do
 * but remove what a killed earlier run left.
 */
export function swapIn(packageDir: string, binary: string, entry: BinaryEntry): void {
  const launcher = launcherOf(packageDir);
  // The postinstall is one process that swaps once: a leftover named with its own pid is a killed run's.
  removeKilledTempSiblings(launcher, TEMP_TAG, true);
  if (sameFile(launcher, binary)) return;
  const tmp = tempSibling(launcher, TEMP_TAG);
  try {
    if (mayLink(packageDir, binary)) {
      linkSync(binary, tmp);
    } else {
      // Not copyFileSync: libuv's copy gives the copy the source's owner, and root would install the user's file again.
      writeFileSync(tmp, readFileSync(binary), { mode: 0o755 });
      const problem = checkBinary(tmp, entry);
      if (problem) throw new Error(`the copy of ${binary} changed while copying: ${problem.detail}`);
    }
    chmodSync(tmp, 0o755);
    renameSync(tmp, launcher);
  } finally {
    // Gone after a rename; still there if the rename met a link to the same file (which POSIX makes a no-op).
    rmSync(tmp, { force: true });
  }
}
