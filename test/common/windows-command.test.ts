import { describe, expect, it } from 'vitest';
import { cmdLine, quoteForCRuntime, windowsSpawnPlan } from '../../common/windows-command.js';
import { homeDir } from '../../common/home.js';
import { homedir } from 'node:os';

describe('Windows command lines', () => {
  it('quotes an argument so the C runtime parses it back exactly', () => {
    expect(quoteForCRuntime('abc')).toBe('abc');
    expect(quoteForCRuntime('')).toBe('""');
    expect(quoteForCRuntime('a b')).toBe('"a b"');
    expect(quoteForCRuntime('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteForCRuntime('C:\\Program Files\\')).toBe('"C:\\Program Files\\\\"');
    expect(quoteForCRuntime('C:\\a\\b')).toBe('C:\\a\\b');
    expect(quoteForCRuntime('\\"')).toBe('"\\\\\\""');
  });

  it('escapes every cmd metacharacter twice for a shim that forwards %*, and the shim path once', () => {
    expect(cmdLine('C:\\Users\\Ann & Bo\\npm\\npm.cmd', ['install', 'x&y', '%PATH%', ''])).toBe(
      '^"C:\\Users\\Ann^ ^&^ Bo\\npm\\npm.cmd^" install x^^^&y ^^^%PATH^^^% ^^^"^^^"',
    );
    expect(cmdLine('C:\\npm\\ao.cmd', ['a b', 'a|b>c'])).toBe('^"C:\\npm\\ao.cmd^" ^^^"a^^^ b^^^" a^^^|b^^^>c');
  });

  it('runs a .cmd found on PATH through cmd.exe /d /s /c with the line verbatim, never shell: true', () => {
    const env = { Path: 'C:\\Windows;C:\\Users\\Ann & Bo\\AppData\\Roaming\\npm', ComSpec: 'C:\\Windows\\system32\\cmd.exe' };
    const plan = windowsSpawnPlan('npm', ['install', '-g', 'C:\\t 1\\ao.tgz'], env, (f) => f === 'C:\\Users\\Ann & Bo\\AppData\\Roaming\\npm\\npm.cmd');
    expect(plan).toEqual({
      file: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', '"^"C:\\Users\\Ann^ ^&^ Bo\\AppData\\Roaming\\npm\\npm.cmd^" install -g ^^^"C:\\t^^^ 1\\ao.tgz^^^""'],
      windowsVerbatimArguments: true,
    });
  });

  it('runs an .exe directly and a node script (the JS bin/ao) with this node', () => {
    const env = { PATH: 'C:\\bin', PATHEXT: '.COM;.EXE;.BAT;.CMD' };
    expect(windowsSpawnPlan('git', ['a b'], env, (f) => f === 'C:\\bin\\git.exe')).toEqual({ file: 'C:\\bin\\git.exe', args: ['a b'] });
    const ao = 'C:\\npm\\node_modules\\@aoagents\\ao\\bin\\ao';
    expect(
      windowsSpawnPlan(
        ao,
        ['--version'],
        env,
        () => false,
        (f) => f === ao,
      ),
    ).toEqual({ file: process.execPath, args: [ao, '--version'] });
  });
});

describe('homeDir', () => {
  it('is USERPROFILE on Windows and HOME elsewhere, the OS answer when unset', () => {
    expect(homeDir({ HOME: '/c/Users/git-bash', USERPROFILE: 'C:\\Users\\Ann' }, 'win32')).toBe('C:\\Users\\Ann');
    expect(homeDir({ HOME: '/home/ann', USERPROFILE: 'x' }, 'linux')).toBe('/home/ann');
    expect(homeDir({}, 'win32')).toBe(homedir());
  });
});
