import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import { UserError } from '../../../common/errors.js';
import { digestFile } from '../../../common/integrity.js';
import type { PackageManagerInfo } from '../journal.js';
import { aoExecutable, globalBinDir, installArgs, installedVersion, PACKAGE_NAME } from '../package-manager.js';
import { runCommand } from '../run.js';
import { versionFromOutput } from '../../../common/version-output.js';

/** Installs the pinned target exactly, with the package manager that installed the legacy CLI, and proves it runs. */
export async function installExact(
  pm: PackageManagerInfo,
  version: string,
  env: NodeJS.ProcessEnv,
  spec = `${PACKAGE_NAME}@${version}`,
  onSpawn?: (pid: number, command: string) => void,
): Promise<{ ao: string }> {
  const [cmd, args] = installArgs(pm.name, spec);
  const res = await runCommand(cmd, args, { env, timeoutMs: 10 * 60_000, onSpawn: (pid) => onSpawn?.(pid, `${cmd} ${args.join(' ')}`) });
  if (res.code !== 0) {
    throw new UserError({
      what: `\`${cmd} ${args.join(' ')}\` failed`,
      why: res.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${res.code}`,
      fix: 'check your network and registry settings',
      code: 'EINSTALL',
    });
  }
  const installed = installedVersion(pm);
  if (installed !== version) {
    throw new UserError({
      what: `the install did not leave ${PACKAGE_NAME}@${version}`,
      why: `${pm.globalRoot} holds ${installed ?? 'nothing'}`,
      code: 'EINSTALL',
    });
  }
  const ao = aoExecutable(await globalBinDir(pm, env));
  const ran = await runCommand(ao, ['--version'], { env, timeoutMs: 60_000 });
  // A binary released unstamped reports what its package's manifest recorded (the release's explicit override).
  const reported = versionFromOutput(ran.stdout);
  if (ran.code !== 0 || (reported !== version && reported !== unstampedOverride(join(pm.globalRoot, ...PACKAGE_NAME.split('/'))))) {
    throw new UserError({
      what: `the installed ao does not run`,
      why: `\`${ao} --version\` gave exit ${ran.code}: ${(ran.stdout + ran.stderr).trim().slice(-300)}`,
      code: 'EINSTALL',
    });
  }
  return { ao };
}

export interface SavedTarball {
  file: string;
  integrity: string;
  source: 'registry' | 'installed';
}

/**
 * Saves the legacy package's tarball into the backup so a rollback works
 * offline: from the registry (its integrity is checked by npm), else packed
 * from the installed folder.
 */
export async function saveLegacyTarball(pm: PackageManagerInfo, legacyVersion: string, destDir: string, env: NodeJS.ProcessEnv): Promise<SavedTarball> {
  const file = join(destDir, `aoagents-ao-${legacyVersion}.tgz`);
  const res = await runCommand('npm', ['pack', `${PACKAGE_NAME}@${legacyVersion}`, '--pack-destination', destDir, '--json'], {
    env,
    cwd: destDir,
    timeoutMs: 5 * 60_000,
  });
  // npm names a scoped package's tarball `aoagents-ao-<version>.tgz`, the name chosen above.
  if (res.code === 0 && existsSync(file)) return { file, integrity: (await digestFile(file)).integrity, source: 'registry' };
  const installedDir = join(pm.globalRoot, ...PACKAGE_NAME.split('/'));
  await create({ file, cwd: installedDir, gzip: true, portable: true, prefix: 'package' }, await readdir(installedDir));
  return { file, integrity: (await digestFile(file)).integrity, source: 'installed' };
}

/** Reinstalls the legacy version from the saved tarball, after checking its bytes against the backup manifest. */
export async function reinstallLegacy(
  pm: PackageManagerInfo,
  tarball: SavedTarball,
  legacyVersion: string,
  env: NodeJS.ProcessEnv,
  onSpawn?: (pid: number, command: string) => void,
): Promise<void> {
  const actual = (await digestFile(tarball.file)).integrity;
  if (actual !== tarball.integrity) {
    throw new UserError({
      what: 'the saved legacy tarball is damaged',
      why: `${tarball.file} does not match the sha512 recorded at backup time`,
      fix: `npm install -g ${PACKAGE_NAME}@${legacyVersion}`,
      code: 'EINTEGRITY',
    });
  }
  const spec = pm.name === 'yarn' ? `file:${tarball.file}` : tarball.file;
  await installExact(pm, legacyVersion, env, spec, onSpawn);
}

/** What a release recorded its binary reports when it was released unstamped (`ao-manifest.json` `override.allowUnstamped`). */
export function unstampedOverride(pkgDir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'ao-manifest.json'), 'utf8')) as { override?: { allowUnstamped?: unknown } };
    return typeof manifest.override?.allowUnstamped === 'string' ? manifest.override.allowUnstamped : undefined;
  } catch {
    return undefined;
  }
}
