import { accessSync, constants, statSync, type Stats } from 'node:fs';

/**
 * What decides whether the launcher can replace itself with the binary (process.execve), shared by the launcher's
 * fast entry (launcher-entry.ts) and the full launcher (launcher.ts). Node built-ins only, no module state.
 */
export type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/** Node's `process.execve` where it can replace this process (Node >= 22.15; Windows Node has it but throws). */
export function execveHere(): Execve | undefined {
  const { execve } = process as NodeJS.Process & { execve?: Execve };
  return typeof execve === 'function' && process.platform !== 'win32' ? execve : undefined;
}

/** Built-ins off the usual path come from process.getBuiltinModule (Node >= 20.16; package.json asks >= 20.17). */
export function nodeSupported(): boolean {
  return typeof process.getBuiltinModule === 'function';
}

/**
 * Why the kernel would refuse to start `binary`. Checked before process.execve, since Node aborts the whole
 * process (SIGABRT, a native stack trace) when execve fails instead of throwing. access(X_OK) also answers
 * EACCES for a file system mounted noexec. That it is a file is known by now: the platform binary was hashed,
 * and an AO_BINARY_PATH that names a folder is refused before this (launcher.ts fromOverride).
 */
export function execRefusal(binary: string): Error | undefined {
  try {
    accessSync(binary, constants.X_OK);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/**
 * Whether `binary` is still the very file `checked` (its stat when it was verified) describes. yarn 1 replacing ao
 * unlinks the binary and writes the new one in its place: a launcher that checked the old file then exec'd bytes never
 * verified, or met the path empty (ENOENT) or still being written (ETXTBSY), where Node aborts. Asked just before the
 * hand-over; a file replaced since is looked for again.
 */
export function sameFileAs(binary: string, checked: Stats): boolean {
  const now = statSync(binary, { throwIfNoEntry: false });
  return now !== undefined && now.ino === checked.ino && now.dev === checked.dev && now.ctimeMs === checked.ctimeMs && now.size === checked.size;
}
