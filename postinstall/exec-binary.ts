import { accessSync, constants } from 'node:fs';

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
