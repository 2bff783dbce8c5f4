import { describe, expect, it } from 'vitest';
import { cannotRunOnWindows } from '../../postinstall/windows-start.js';

/** Node's error for a spawn Windows refused, as it reaches the launcher. */
function spawnError(binary: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`spawn ${binary} ${code}`), { code, errno: -1, syscall: `spawn ${binary}`, path: binary });
}

const BINARY = 'C:\\Users\\Jo Doe\\AppData\\Roaming\\npm\\node_modules\\@aoagents\\ao-win32-x64\\bin\\ao.exe';
const REINSTALL = 'npm uninstall -g @aoagents/ao && npm install -g @aoagents/ao@0.10.0';

// Wine cannot make the package's own verified ao.exe fail to start (an antivirus, another CPU): the message is built here.
describe("the package's own verified ao.exe that Windows does not start", () => {
  it('ends with the command that reinstalls ao, after the check, with the path quoted for cmd.exe', () => {
    const { fix, code } = cannotRunOnWindows(BINARY, spawnError(BINARY, 'UNKNOWN'), REINSTALL);
    expect(code).toBe('EAOSPAWN');
    expect(fix).toBe(`check that no antivirus blocks or quarantined it (dir "${BINARY}"), then reinstall ao: ${REINSTALL}`);
  });

  it('says what each error code means, not "not a program" for every one', () => {
    const why = (code: string) => cannotRunOnWindows(BINARY, spawnError(BINARY, code), REINSTALL).why;
    expect(why('EFTYPE')).toBe(`spawn ${BINARY} EFTYPE: Windows says it is no program it can run (damaged, or built for another CPU)`);
    expect(why('ENOENT')).toBe(`spawn ${BINARY} ENOENT: the file is gone since it was verified (an antivirus quarantines a file so)`);
    expect(why('EACCES')).toBe(`spawn ${BINARY} EACCES: Windows refused to start it (an antivirus or an application control policy blocks it)`);
    expect(why('UNKNOWN')).toBe(
      `spawn ${BINARY} UNKNOWN: Windows did not start it and gave no reason Node knows (an antivirus blocking it is the usual cause)`,
    );
  });

  it('quotes a path without spaces only where cmd.exe needs it', () => {
    const plain = 'C:\\npm\\node_modules\\@aoagents\\ao-win32-x64\\bin\\ao.exe';
    expect(cannotRunOnWindows(plain, spawnError(plain, 'UNKNOWN'), REINSTALL).fix).toContain(`(dir ${plain})`);
  });
});

describe('an AO_BINARY_PATH that Windows does not start', () => {
  it('says to point AO_BINARY_PATH at the program, for a batch file at the .exe it runs', () => {
    expect(cannotRunOnWindows('C:\\dev\\my ao.cmd', spawnError('C:\\dev\\my ao.cmd', 'EINVAL'), undefined).fix).toBe(
      'point AO_BINARY_PATH at the .exe that script runs, or unset it',
    );
    expect(cannotRunOnWindows('C:\\dev\\ao.exe', spawnError('C:\\dev\\ao.exe', 'EFTYPE'), undefined).fix).toBe(
      "point AO_BINARY_PATH at ao's Windows program (an .exe built for this machine), or unset it",
    );
  });
});
