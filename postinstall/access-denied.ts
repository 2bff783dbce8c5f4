import { UserError } from '../common/errors.js';
import { letEveryoneReadCommand, withEnvFor } from '../common/shell-quote.js';

/**
 * A file of the install this user may not read: another user installed ao and its mode shuts this one out (0600, or 0711
 * for the binary). Its fix in `platform`'s shell, as the other one's: cmd.exe has no chmod and no `NAME= command`.
 */
export function unreadable(err: unknown, platform: string = process.platform): UserError | undefined {
  const { code, syscall, path } = (err ?? {}) as NodeJS.ErrnoException;
  if ((code !== 'EACCES' && code !== 'EPERM') || syscall !== 'open' || !path) return undefined;
  return new UserError({
    what: `cannot read ${path}`,
    why: `${(err as Error).message}: the launcher reads its manifest and hashes the binary before it runs it`,
    fix: `make it readable for this user (as its owner${platform === 'win32' ? ' or an administrator' : ''}: ${letEveryoneReadCommand(platform, path)}), or run ao as the user who installed it`,
    code: 'EAOACCESS',
  });
}

/** Node's permission model (`--permission`, mostly from NODE_OPTIONS) refusing a read or the start of the binary. */
export function permissionDenied(err: unknown, platform: string = process.platform): UserError | undefined {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'ERR_ACCESS_DENIED') return undefined;
  return new UserError({
    what: "Node's permission model stops the ao launcher",
    why: (err as Error).message,
    fix: `the launcher reads its package and starts the ao binary: run ao without --permission (${withEnvFor(platform, 'NODE_OPTIONS', '', 'ao ...')}), or allow both: --allow-fs-read=* --allow-child-process`,
    code: 'EAONODE',
  });
}
