import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';

/** The first folder on `path`'s way up (itself included, as far as it exists) that belongs to a user other than root. */
async function otherUsersFolder(path: string): Promise<{ folder: string; uid: number } | undefined> {
  for (let p = resolve(path); ; p = dirname(p)) {
    const info = await stat(p).catch(() => undefined);
    if (info && info.uid !== 0) return { folder: p, uid: info.uid };
    if (dirname(p) === p) return undefined;
  }
}

/**
 * Root installing into another user's folder (`sudo ao-app install`, with a sudo that keeps HOME, as macOS's does):
 * everything it makes there (~/.ao, ~/.ao/app, the 0600 app-state.json) would belong to root, and that user's own
 * ao-app could then neither update nor remove the app, nor ao start read its marker. Refused before anything is made.
 */
export async function refuseRootInOthersFolder(paths: Array<string | undefined>): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const path of paths) {
    if (path === undefined) continue;
    const other = await otherUsersFolder(path);
    if (!other) continue;
    throw new UserError({
      what: `ao-app is running as root, but ${path} is in a folder of another user`,
      why: `${other.folder} belongs to uid ${other.uid}: what root installed there would belong to root, and that user's own ao-app and ao start could not change or read it; nothing was changed`,
      fix: `run ao-app install as that user, without sudo (the desktop app installs per user, under ~/.ao); to install it for root, use sudo -H so HOME is root's own`,
      code: 'EAPPOWNER',
    });
  }
}
