/**
 * Putting the native binary in the launcher's place (`<pkg>/bin/ao`), so `ao`
 * runs without a Node start-up. Only the postinstall does this, and only where
 * the install layout allows it (see common/install-layout.ts swapBlocker): a
 * launcher that swapped itself on a later run could not stop a process the
 * kernel had already started through its `#!/usr/bin/env node` line from
 * reading the binary as JavaScript.
 */
import { chmodSync, linkSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
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
 * Removes what a killed earlier swap left (a hard link of the binary, whose removal moves the binary's ctime): the
 * postinstall does so before it hashes, so the swap can tell the file it hashed by its ctime. The postinstall is one
 * process that swaps once: a leftover named with its own pid is a killed run's.
 */
export function sweepKilledSwaps(packageDir: string): void {
  removeKilledTempSiblings(launcherOf(packageDir), TEMP_TAG, true);
}

/**
 * Hard link (or copy) the verified binary to a temp sibling, check that it is
 * what was hashed (`hashed`, its stat then), then one rename: `ao` is the
 * launcher or the binary, never half of one. Already in place (`npm rebuild`):
 * nothing to do. What a killed earlier run left is swept before the hash
 * (sweepKilledSwaps), not here: its removal would move the ctime checked.
 */
export function swapIn(packageDir: string, binary: string, entry: BinaryEntry, hashed: Stats): void {
  const launcher = launcherOf(packageDir);
  if (sameFile(launcher, binary)) return;
  const tmp = tempSibling(launcher, TEMP_TAG);
  try {
    // Not copyFileSync: libuv's copy gives the copy the source's owner, and root would install the user's file again.
    // The file at `binary` may not be the one hashed any more (replaced by rename while its --version ran). A link is
    // that very file when it is the same inode, unchanged since (its ctime before the link, which the link moves); a
    // copy is new bytes, hashed again (a second sha512 only there).
    if (mayLink(packageDir, binary)) {
      const now = statSync(binary);
      linkSync(binary, tmp);
      const linked = statSync(tmp);
      const isHashed = (st: Stats) => st.dev === hashed.dev && st.ino === hashed.ino;
      if (!isHashed(now) || now.ctimeMs !== hashed.ctimeMs || !isHashed(linked)) {
        throw new Error(`${binary} changed since it was verified (another install, or something else, replaced, wrote or linked it meanwhile)`);
      }
    } else {
      writeFileSync(tmp, readFileSync(binary), { mode: 0o755 });
      const problem = checkBinary(tmp, entry);
      if (problem) throw new Error(`${binary} changed since it was verified: ${problem.detail}`);
    }
    chmodSync(tmp, 0o755);
    renameSync(tmp, launcher);
  } finally {
    // Gone after a rename; still there if the rename met a link to the same file (which POSIX makes a no-op).
    rmSync(tmp, { force: true });
  }
}
