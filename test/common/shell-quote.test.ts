import { describe, expect, it } from 'vitest';
import { clearEnvFor, letEveryoneReadCommand, quotePathFor, removeCommandFor, setEnvFor, withEnvFor } from '../../common/shell-quote.js';

describe('commands printed for the shell of the platform they run on', () => {
  // cmd.exe expands %NAME% inside double quotes too: printed as `rmdir /s /q "D:\work\%USERPROFILE%"`, a folder of that
  // name was the user's whole profile to cmd. (Run through cmd.exe: win32-x64.foreign.ts, "a folder named %USERPROFILE%".)
  it('quotes a Windows path holding %NAME% so that cmd.exe leaves the name as it is', () => {
    expect(quotePathFor('win32', 'D:\\work\\%USERPROFILE%\\x')).toBe('"D:\\work\\%"U"SERPROFILE%\\x"');
    expect(quotePathFor('win32', 'D:\\a b\\100% & %1')).toBe('"D:\\a b\\100% & %"1""');
    expect(quotePathFor('linux', '/w/%HOME%')).toBe('/w/%HOME%');
  });

  // cmd.exe has no `NAME=value command`: "'AO_APP_DEADLINE_MS' is not recognized as an internal or external command".
  it('sets a variable for one command in the POSIX way, and with set in cmd.exe', () => {
    expect(withEnvFor('linux', 'AO_APP_DEADLINE_MS', '28800000', 'ao-app install')).toBe('AO_APP_DEADLINE_MS=28800000 ao-app install');
    expect(withEnvFor('win32', 'AO_APP_DEADLINE_MS', '28800000', 'ao-app install')).toBe('set "AO_APP_DEADLINE_MS=28800000" && ao-app install');
    expect(setEnvFor('darwin', 'AO_APP_DIR', '~/ao-app')).toBe('export AO_APP_DIR=~/ao-app');
    expect(setEnvFor('win32', 'AO_APP_DIR', '%USERPROFILE%\\ao-app')).toBe('set "AO_APP_DIR=%USERPROFILE%\\ao-app"');
    expect(clearEnvFor('linux', 'AO_APP_DIR')).toBe('unset AO_APP_DIR');
    expect(clearEnvFor('win32', 'AO_APP_DIR')).toBe('set "AO_APP_DIR="');
  });

  // Windows has no chmod and no rm: `chmod -R a+rX` for an app folder an admin made unreadable, `rm -r` of a lock that is
  // a folder and `rm` of a link to a disk not connected were commands a Windows user could not run.
  it('lets every user read a file or a folder: icacls for the Users group on Windows, chmod elsewhere', () => {
    expect(letEveryoneReadCommand('win32', 'C:\\ao app', true)).toBe('icacls "C:\\ao app" /grant *S-1-5-32-545:(OI)(CI)RX /t');
    expect(letEveryoneReadCommand('win32', 'C:\\ao\\ao-manifest.json')).toBe('icacls C:\\ao\\ao-manifest.json /grant *S-1-5-32-545:RX');
    // ao.exe: read alone passes the hash check, and Windows then refuses to start it.
    expect(letEveryoneReadCommand('win32', 'C:\\ao\\node_modules\\@aoagents\\ao-win32-x64\\bin\\ao.exe')).toMatch(/ \/grant \*S-1-5-32-545:RX$/);
    expect(letEveryoneReadCommand('linux', '/opt/ao app', true)).toBe("chmod -R a+rX '/opt/ao app'");
  });

  it('deletes a folder, a link to a folder (never what it names: cmd del of one deletes those files) or a file', () => {
    expect(removeCommandFor('win32', 'C:\\ao app\\.lock', 'tree')).toBe('rmdir /s /q "C:\\ao app\\.lock"');
    expect(removeCommandFor('win32', 'C:/ao/versions', 'link')).toBe('rmdir C:\\ao\\versions');
    expect(removeCommandFor('win32', 'C:\\ao\\.lock', 'file')).toBe('del /q C:\\ao\\.lock');
    expect(removeCommandFor('linux', '/ao app/.lock', 'tree')).toBe("rm -rf '/ao app/.lock'");
    expect(removeCommandFor('darwin', '/ao/versions', 'link')).toBe('rm /ao/versions');
  });
});
