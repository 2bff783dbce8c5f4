import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * How this machine can run a binary built for another target: the command to
 * put in front of it ([] when it runs natively), or null when nothing here can
 * run it. Linux runs linux-arm64 (and linux-x64 on arm64) through
 * qemu-user-static (a static Go binary needs no binfmt registration and no
 * sysroot). Wine is left out on purpose: a first run builds a ~700 MB prefix
 * in the user's home. Release verify uses it to run `--version` on every
 * binary this host can run.
 */
export interface Host {
  platform: string;
  arch: string;
}

const QEMU: Record<string, string[]> = {
  arm64: ['qemu-aarch64-static', 'qemu-aarch64'],
  x64: ['qemu-x86_64-static', 'qemu-x86_64'],
};

function findExecutable(names: string[], pathVar: string): string | undefined {
  for (const name of names) {
    const candidates = name.includes('/')
      ? [name]
      : pathVar
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, name));
    for (const file of candidates) {
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export function foreignRunner(target: { os: string; cpu: string }, host: Host = process, pathVar = process.env.PATH ?? ''): string[] | null {
  if (target.os === host.platform && target.cpu === host.arch) return [];
  if (host.platform !== 'linux') return null;
  if (target.os === 'linux' && QEMU[target.cpu]) {
    const qemu = findExecutable(QEMU[target.cpu]!, pathVar);
    return qemu ? [qemu] : null;
  }
  return null;
}
