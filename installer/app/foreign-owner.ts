import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
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

/**
 * An app folder other users can write (`--dir /tmp/ao-app` on a shared machine): whoever can could plant a version folder
 * with a completion marker of their own, whose digests are what they wrote, or their key in the remembered ones. Refused
 * before install makes anything, and by verify, which would otherwise check the app against that marker: the folder when
 * any user may write it (a sticky one like /tmp aside, where only names ao-app made there are its own), and `versions`,
 * `downloads` and the installed version's own folder when another user (root aside) made them or any user may write them.
 */
export async function refuseFolderOthersCanWrite(root: string, command: 'install' | 'verify', versionDir?: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  // Root verifying a user's app (sudo keeping HOME) only reads it: the app folder's owner is whom it trusts there, so
  // that the app is the user's is no reason to refuse, but a folder in it a third user made still is.
  const trusted = command === 'verify' && uid === 0 ? ((await stat(root).catch(() => undefined))?.uid ?? uid) : uid;
  const inside = [join(root, 'versions'), join(root, 'downloads'), ...(versionDir ? [versionDir] : [])];
  for (const [path, stickyIsEnough] of [[root, true] as const, ...inside.map((p) => [p, false] as const)]) {
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    const anyoneWrites = (info.mode & 0o002) !== 0 && !(stickyIsEnough && (info.mode & 0o1000) !== 0);
    const otherOwner = info.uid !== trusted && info.uid !== 0;
    if (!anyoneWrites && !otherOwner) continue;
    const again = command === 'install' ? 'ao-app install' : 'ao-app verify';
    throw new UserError({
      what: `cannot ${command} the desktop app ${command === 'install' ? 'into' : 'in'} ${root}`,
      why: `${path} ${anyoneWrites ? 'can be written by any user' : `belongs to another user (uid ${info.uid})`}, who could replace the app or plant one of their own there; ${command === 'install' ? 'nothing was changed' : 'so its files prove nothing'}`,
      fix: anyoneWrites
        ? `as the owner of ${path}, run chmod go-w on it, or set AO_APP_DIR (or pass --dir) to a folder of your own (the default is ~/.ao/app); then run ${again} again`
        : `run ${again} as the user who owns ${path} (uid ${info.uid}), or set AO_APP_DIR (or pass --dir) to a folder of your own (the default is ~/.ao/app)`,
      code: 'EAPPOWNER',
    });
  }
}
