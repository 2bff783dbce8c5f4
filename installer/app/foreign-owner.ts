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
 * Root installing into, or removing from, another user's folder (`sudo ao-app install`, with a sudo that keeps HOME, as
 * macOS's does): everything it writes there (~/.ao, ~/.ao/app, the 0600 app-state.json, which remove rewrites when the
 * app recorded more in it) would belong to root, and that user's own ao-app could then neither update nor remove the
 * app, nor ao start and the app read their marker. Refused before anything is changed.
 */
export async function refuseRootInOthersFolder(paths: Array<string | undefined>, command: 'install' | 'remove'): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const path of paths) {
    if (path === undefined) continue;
    const other = await otherUsersFolder(path);
    if (!other) continue;
    throw new UserError({
      what: `ao-app is running as root, but ${path} is in a folder of another user`,
      why: `${other.folder} belongs to uid ${other.uid}: what root wrote there would belong to root, and that user's own ao-app and ao start could not change or read it; nothing was changed`,
      fix: `run ao-app ${command} as that user, without sudo (the desktop app installs per user, under ~/.ao); for root's own app, use sudo -H so HOME is root's own, or (a container run as root in a user's home) set HOME to a folder root owns, where root's ao start looks too`,
      code: 'EAPPOWNER',
    });
  }
}
