import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { win32 } from 'node:path';

/**
 * How to spawn a command on Windows without a shell's guesswork. Node runs
 * `.exe` files directly and quotes their arguments the way the C runtime parses
 * them, but `.cmd`/`.bat` files (npm, pnpm, yarn and ao are such shims) need
 * cmd.exe, and `shell: true` joins arguments with bare spaces: a space, `&` or
 * `%VAR%` in a path splits the command or runs another one. Here a batch file
 * gets `cmd.exe /d /s /c "<line>"` where every argument is quoted for the C
 * runtime and then caret-escaped twice for cmd (once for the /c line, once
 * more because the shim re-parses `%*`), following the documented cmd rules
 * (the same scheme as cross-spawn). A script with a node shebang (the JS
 * launcher `bin/ao`) runs with this Node: Windows has no shebangs.
 */
export interface SpawnPlan {
  file: string;
  args: string[];
  /** Set for cmd.exe: the line is already quoted, Node must not quote it again. */
  windowsVerbatimArguments?: boolean;
}

const CMD_META = /([()\][%!^"`<>&|;, *?])/g;

/** An argument as the Microsoft C runtime parses it back: backslashes doubled only before a quote. */
export function quoteForCRuntime(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\*)$/, '$1$1')}"`;
}

/** One argument on a `cmd /c` line that a batch file forwards with `%*`. */
export function escapeForCmdShim(arg: string): string {
  return quoteForCRuntime(arg).replace(CMD_META, '^^^$1');
}

/** The cmd.exe line that runs the batch file `file` with `args`, each arriving exactly. */
export function cmdLine(file: string, args: string[]): string {
  const command = `"${file}"`.replace(CMD_META, '^$1');
  return [command, ...args.map(escapeForCmdShim)].join(' ');
}

/** `cmd` on PATH with PATHEXT, as Windows would pick it, or undefined. */
export function resolveWindowsCommand(cmd: string, env: NodeJS.ProcessEnv, exists: (file: string) => boolean = isFile): string | undefined {
  const get = (name: string) => Object.entries(env).find(([k]) => k.toUpperCase() === name)?.[1];
  const exts = (get('PATHEXT') ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean);
  const withExt = (base: string) =>
    win32.extname(base) && exts.some((e) => e.toLowerCase() === win32.extname(base).toLowerCase()) ? [base] : exts.map((e) => base + e.toLowerCase());
  const dirs = /[\\/]/.test(cmd) ? [''] : (get('PATH') ?? '').split(';').filter(Boolean);
  for (const dir of dirs) {
    for (const candidate of withExt(dir ? win32.join(dir, cmd) : cmd)) if (exists(candidate)) return candidate;
  }
  return undefined;
}

function isFile(file: string): boolean {
  try {
    accessSync(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

function hasNodeShebang(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(64);
      const n = readSync(fd, head, 0, head.length, 0);
      return /^#!.*\bnode\b/.test(head.subarray(0, n).toString('latin1').split('\n')[0]!);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** What to spawn for `cmd args` on Windows: the program itself, node for a node script, or cmd.exe for a batch file. */
export function windowsSpawnPlan(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  exists?: (file: string) => boolean,
  nodeScript: (file: string) => boolean = hasNodeShebang,
): SpawnPlan {
  const file = resolveWindowsCommand(cmd, env, exists) ?? cmd;
  if (!/\.(cmd|bat|exe|com)$/i.test(file) && nodeScript(file)) return { file: process.execPath, args: [file, ...args] };
  if (!/\.(cmd|bat)$/i.test(file)) return { file, args };
  const comspec = Object.entries(env).find(([k]) => k.toUpperCase() === 'COMSPEC')?.[1] ?? 'cmd.exe';
  return { file: comspec, args: ['/d', '/s', '/c', `"${cmdLine(file, args)}"`], windowsVerbatimArguments: true };
}
