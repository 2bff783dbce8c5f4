import { constants } from 'node:fs';
import { access, mkdtemp, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { UserError } from '../../../common/errors.js';
import type { PackageManagerInfo } from '../journal.js';
import { PACKAGE_NAME } from '../package-manager.js';
import { runCommand } from '../run.js';

/**
 * Checks that change nothing: everything the cutover needs before it touches
 * the global install. Each failure says what to run.
 */
export interface TargetInfo {
  version: string;
  engines?: { node?: string };
}

/** `npm view @aoagents/ao@<target> version engines --json`, honouring the user's npm config (registry, auth, proxy). */
export async function lookUpTarget(target: string, env: NodeJS.ProcessEnv, opts: { readOnly?: boolean } = {}): Promise<TargetInfo> {
  const spec = `${PACKAGE_NAME}@${target}`;
  // A check leaves no trace: npm gets a throwaway cache and writes no log file.
  const scratch = opts.readOnly ? await mkdtemp(join(tmpdir(), 'ao-update-check-')) : undefined;
  const res = await runCommand('npm', ['view', spec, 'version', 'engines', '--json', ...(scratch ? ['--logs-max=0'] : [])], {
    env: scratch ? { ...env, npm_config_cache: scratch } : env,
    timeoutMs: 60_000,
  }).finally(() => (scratch ? rm(scratch, { recursive: true, force: true }) : undefined));
  const text = res.stdout.trim();
  if (res.code !== 0 || !text) {
    throw new UserError({
      what: `${spec} is not available from your registry`,
      why: res.code !== 0 ? res.stderr.trim().split('\n').slice(-2).join(' ') || `npm view exited ${res.code}` : 'the registry has no such version',
      fix: `check your registry (npm config get registry) and run \`ao update\` again once ${spec} is published`,
      code: 'ETARGET',
    });
  }
  const parsed = JSON.parse(text) as TargetInfo | string;
  return typeof parsed === 'string' ? { version: parsed } : parsed;
}

export function checkNode(target: TargetInfo, nodeVersion = process.version): void {
  const range = target.engines?.node;
  if (range && !semver.satisfies(nodeVersion, range)) {
    throw new UserError({
      what: `${PACKAGE_NAME}@${target.version} needs Node ${range}`,
      why: `this Node is ${nodeVersion}`,
      fix: `install a Node that satisfies ${range} (for example with nvm) and run \`ao update\` again`,
      code: 'ENODE',
    });
  }
}

/** What a cutover needs free: its backup with 10% to spare, and room for the new ao when it installs the package. */
export function requiredFreeBytes(installsPackage: boolean, backupBytes: number): number {
  return backupBytes * 1.1 + (installsPackage ? 150e6 : 10e6);
}

/** Free space where `dir` will be, measured on its nearest existing ancestor: a check creates nothing. */
export async function checkDiskSpace(dir: string, neededBytes: number): Promise<number> {
  let existing = dir;
  while (!(await stat(existing).catch(() => undefined)) && dirname(existing) !== existing) existing = dirname(existing);
  const fs = await statfs(existing);
  const free = fs.bavail * fs.bsize;
  if (free < neededBytes) {
    throw new UserError({
      what: 'not enough free disk space for the cutover',
      why: `${dir} has ${Math.floor(free / 1e6)} MB free; the backup and the new ao need about ${Math.ceil(neededBytes / 1e6)} MB`,
      fix: 'free some space and run `ao update` again',
      code: 'ENOSPC',
    });
  }
  return free;
}

export async function checkWritable(pm: PackageManagerInfo): Promise<void> {
  try {
    await access(pm.globalRoot, constants.W_OK);
  } catch {
    throw new UserError({
      what: `cannot write to ${pm.name}'s global folder`,
      why: `${pm.globalRoot} is not writable by this user`,
      fix: `fix the folder's owner (or run the same command you used to install ao), then run \`ao update\` again`,
      code: 'EACCES',
    });
  }
}
