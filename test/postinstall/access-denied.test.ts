import { describe, expect, it } from 'vitest';
import { permissionDenied, unreadable } from '../../postinstall/access-denied.js';

const MANIFEST = 'C:\\Program Files\\nodejs\\node_modules\\@aoagents\\ao\\ao-manifest.json';
const denied = (path: string) => Object.assign(new Error(`EPERM: operation not permitted, open '${path}'`), { code: 'EPERM', syscall: 'open', path });

// cmd.exe has neither chmod nor `NAME= command`: both fixes were commands a Windows user could not run.
describe('the launcher refused a read, with a fix in the shell of the platform', () => {
  it('a file of the install this user may not read: icacls for the Users group on Windows, chmod elsewhere', () => {
    expect(unreadable(denied(MANIFEST), 'win32')?.fix).toBe(
      `make it readable for this user (as its owner or an administrator: icacls "${MANIFEST}" /grant *S-1-5-32-545:RX), or run ao as the user who installed it`,
    );
    expect(unreadable(denied('/opt/ao lib/ao-manifest.json'), 'linux')?.fix).toBe(
      "make it readable for this user (as its owner: chmod a+r '/opt/ao lib/ao-manifest.json'), or run ao as the user who installed it",
    );
  });

  it("Node's permission model: NODE_OPTIONS cleared with set in cmd.exe", () => {
    const err = Object.assign(new Error('Access to this API has been restricted'), { code: 'ERR_ACCESS_DENIED' });
    expect(permissionDenied(err, 'win32')?.fix).toBe(
      'the launcher reads its package and starts the ao binary: run ao without --permission (set "NODE_OPTIONS=" && ao ...), or allow both: --allow-fs-read=* --allow-child-process',
    );
    expect(permissionDenied(err, 'linux')?.fix).toContain('(NODE_OPTIONS= ao ...)');
  });
});
