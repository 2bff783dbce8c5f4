import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { Target } from '../common/matrix.js';
import { versionFromOutput } from '../common/version-output.js';

const run = promisify(execFile);

const QEMU_USER: Record<string, string> = { arm64: 'qemu-aarch64-static', x64: 'qemu-x86_64-static' };

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * How this machine can run a target's binary: natively (`[]`), through qemu-user-static for
 * another Linux CPU (`['/usr/bin/qemu-aarch64-static']`), or not at all (undefined).
 */
export function runnerFor(target: Pick<Target, 'os' | 'cpu'>): string[] | undefined {
  if (target.os !== process.platform) return undefined;
  if (target.cpu === process.arch) return [];
  const qemu = target.os === 'linux' ? onPath(QEMU_USER[target.cpu] ?? '') : undefined;
  return qemu ? [qemu] : undefined;
}

export interface ReportedVersion {
  /** What `--version` printed, trimmed. */
  output: string;
  /** The version parsed from it (`dev` for an unstamped build), undefined when unreadable. */
  version: string | undefined;
}

/**
 * Runs `<binary> --version` in a throwaway HOME (a release tool must not touch the
 * engineer's ~/.ao) and parses what it prints the way the postinstall does.
 */
export async function reportedVersion(binary: string, runner: string[] = []): Promise<ReportedVersion> {
  const home = await mkdtemp(join(tmpdir(), 'ao-version-home-'));
  const [command, ...args] = [...runner, binary, '--version'];
  try {
    const { stdout } = await run(command, args, { env: { ...process.env, HOME: home, USERPROFILE: home }, timeout: 15_000 });
    return { output: stdout.trim(), version: versionFromOutput(stdout) };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * The override for a binary released unstamped: the exact version string the
 * binaries are accepted to report instead of the release version (`dev` for the
 * real 0.10.3). It exists only as the stage flag `--allow-unstamped <reported>`.
 */
export const UNSTAMPED_FLAG = '--allow-unstamped';

/** One line for every report that shows a release made with the override. */
export function describeOverride(release: string, targets: Record<string, { reports: string; seen?: string }>): string {
  const each = Object.entries(targets).map(([id, t]) => `${id} reports "${t.reports}"${t.seen ? ` (${t.seen})` : ''}`);
  return `OVERRIDE ${UNSTAMPED_FLAG}: released unstamped as ${release}: ${each.join(', ')}; install checks compare against what was recorded`;
}
