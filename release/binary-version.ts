import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { versionFromOutput } from '../common/version-output.js';

const run = promisify(execFile);

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
