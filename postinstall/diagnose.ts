import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { removeFolderCommand, type PackageManager } from '../common/install-layout.js';
import type { AoManifest, BinaryEntry } from '../common/ao-manifest.js';
import { quotePathFor, removeFileCommand, withEnvFor } from '../common/shell-quote.js';
import type { PlatformLimit } from './platform-limit.js';
import type { NpmLockfile } from './resolve.js';

/**
 * Why no usable ao binary was found, and the command that fixes it. Pure
 * decision logic over facts gathered by the caller, so every branch is
 * tested with another machine's facts.
 */

export interface MissingBinaryFacts {
  manifest: AoManifest;
  /** Target ids wanted on this host, best first (see preferredTargets). */
  wanted: string[];
  /** Target ids whose platform package IS installed next to ao (another OS's node_modules). */
  presentTargets: string[];
  /** The package-lock.json that records this ao, when there is one. */
  lockfile?: NpmLockfile;
  installer: PackageManager;
  global: boolean;
  /** Yarn 2 or later (its `yarn install` has no --force). */
  yarnBerry?: boolean;
  /**
   * Project installs: the folder whose node_modules holds ao. Named in the fix, since ao may be called from anywhere
   * (npx and pnpm dlx install into a folder of their own in the cache, where a fix run in the user's folder does nothing).
   */
  project?: string;
  /** A setting of the project's (or the user's) that keeps the package manager from installing this platform's package. */
  platformLimit?: PlatformLimit;
  /** `sudo ` for a global folder root owns that this user may not write, else empty: sudoFor, which says empty for a project. */
  sudo?: string;
  /** npm is offline (`--offline`, or offline=true in this npmrc): an npm command the fix names must say --offline=false. */
  offline?: string;
  /** The install script ran and its fetch failed (the postinstall itself says why): no script was blocked. */
  fetchFailed?: boolean;
}

/** The code of the fallback fetch's error when npm is offline and its cache lacks the package. */
export const FETCH_OFFLINE = 'EAOOFFLINE';

export function diagnoseMissingBinary(f: MissingBinaryFacts): UserError {
  const { manifest, installer } = f;
  const sudo = f.sudo ?? '';
  const globalInstall = (spec: string) => sudo + globalInstallOf(installer, spec);
  const name = manifest.name;
  const spec = `${name}@${manifest.version}`;
  const here = f.wanted[f.wanted.length - 1];
  // The OS of the binary wanted is this machine's: its shell reads the commands printed (cmd.exe on Windows, which has no rm).
  const platform = (here ?? '').split('-')[0]!;
  const quote = (path: string) => quotePathFor(platform, path);
  const inProject = f.project ? `in ${quote(f.project)}: ` : '';
  const supported = Object.keys(manifest.binaries).sort();
  // The host's own arch is what the package manager installs (under Rosetta too).
  const target = [...f.wanted].reverse().find((t) => manifest.binaries[t]);
  if (!target) {
    return new UserError({
      what: `ao has no binary for ${here}`,
      why: `release ${manifest.version} supports ${supported.join(', ')}`,
      fix: 'run ao on one of those platforms (for WSL or a container, install inside it)',
      code: 'EAOUNSUPPORTED',
    });
  }
  const entry = manifest.binaries[target]!; // target was found among the keys above
  const [os, cpu] = [entry.os, entry.cpu];
  const limit = f.platformLimit;
  if (limit) {
    // A reinstall installs the same platforms again: the setting is what to change.
    const [verb, change] =
      limit.kind === 'npmrc'
        ? [
            limit.settings.length > 1 ? 'leave' : 'leaves',
            `remove the ${limit.settings.map((s) => s.split('=')[0]).join(' and ')} line${limit.settings.length > 1 ? 's' : ''} from`,
          ]
        : ['leaves', 'add current to the os and cpu lists of supportedArchitectures in'];
    return new UserError({
      what: `ao's platform package ${entry.package}@${entry.version} is not installed`,
      why: `${limit.file} sets ${limit.settings.join(' and ')}, which ${verb} out ${target}: ${installer} installs the platform packages of the platforms set there only`,
      fix: `${inProject}${change} ${quote(limit.file)}, then run ${f.global ? globalInstall(spec) : localInstall(installer, f.yarnBerry)}`,
      code: 'EAOWRONGPLATFORM',
    });
  }
  if (f.presentTargets.length > 0 && !f.presentTargets.includes(target)) {
    return new UserError({
      what: `ao's binary for ${target} is missing; node_modules holds ${f.presentTargets.join(', ')}`,
      // ao cannot tell which: both leave the same node_modules.
      why: `these node_modules were installed for ${f.presentTargets.join(', ')}, not this machine (by npm install --os/--cpu, or on another machine and copied here: a container, a VM, WSL)`,
      fix: f.global
        ? `reinstall on this machine: ${globalInstall(spec)}`
        : `reinstall ${f.project ? `in ${quote(f.project)}` : 'here'}: ${removeFolderCommand('node_modules', platform)} && ${localInstall(installer, f.yarnBerry)}  (or for npm >= 10: npm install --os=${os} --cpu=${cpu})`,
      code: 'EAOWRONGPLATFORM',
    });
  }
  if (f.lockfile && !f.lockfile.targets.includes(target)) {
    const { folder, targets } = f.lockfile;
    return new UserError({
      what: `ao's binary for ${target} is missing: ${join(folder, 'package-lock.json')} lists ${targets.length ? targets.join(', ') : 'no platform package'} only`,
      why: 'npm wrote the lockfile on one platform and dropped the others (npm/cli#4828)',
      // The lockfile's folder, not the caller's: ao runs from anywhere, and a workspace keeps it above ao's project.
      fix: `in ${quote(folder)}: ${removeFolderCommand('node_modules', platform)} && ${removeFileCommand(['package-lock.json'], platform)} && npm install  (then commit the new lockfile)`,
      code: 'EAOLOCKFILE',
    });
  }
  // Offline, npm's own commands would fail as the fetch did: --offline=false reaches the registry, whatever the npmrc says.
  // Another manager's install runs the fetch again, which reads npm's config: the variable takes it online.
  const online = installer === 'npm' && f.offline ? ' --offline=false' : '';
  const onlineOther = (command: string) => (f.offline ? withEnvFor(platform, 'npm_config_offline', 'false', command) : command);
  const fetchHint = f.fetchFailed ? undefined : blockedScriptFix(installer, name, f.global, sudo, online);
  return new UserError({
    what: `ao's platform package ${entry.package}@${entry.version} is not installed`,
    why: `optional dependencies were left out (--omit=optional, --no-optional or a production-only install)${scriptOutcome(f, Boolean(fetchHint))}`,
    fix: `${f.global ? '' : inProject}${installer === 'npm' ? `${f.global ? `${sudo}npm install -g ${spec}` : 'npm install'} --include=optional${online}` : onlineOther(f.global ? globalInstall(spec) : localInstall(installer, f.yarnBerry))}${fetchHint ? `  (or allow its install script: ${fetchHint})` : ''}`,
    code: 'EAOMISSING',
  });
}

/**
 * What became of the install script that fetches a missing platform package. The postinstall knows its fetch failed
 * (and whether npm was offline); the launcher, later, cannot tell a blocked script from one whose fetch failed: an
 * npmrc's offline=true is then a fact beside both (a blocked script's fetch might have found npm's cache).
 */
function scriptOutcome(f: MissingBinaryFacts, canBeBlocked: boolean): string {
  if (f.fetchFailed)
    return f.offline ? `, and npm is offline (${f.offline}), so the install script could not fetch it` : ', and the install script could not fetch it';
  const failed = f.offline ? `npm is offline, ${f.offline}` : 'the install printed why';
  return canBeBlocked
    ? `, and no install script fetched it (scripts blocked, or its fetch failed: ${failed})`
    : f.offline
      ? `, and npm is offline (${f.offline})`
      : '';
}

/** How to let ao's install script run under each package manager; `sudo` as for sudoFor. */
export function blockedScriptFix(installer: PackageManager, name: string, global: boolean, sudo = '', npmFlags = ''): string | undefined {
  switch (installer) {
    case 'pnpm':
      return global ? `pnpm add -g ${name} --allow-build=${name}  or  pnpm approve-builds -g` : 'pnpm approve-builds';
    case 'bun':
      return global ? `bun pm -g trust ${name}` : `bun pm trust ${name}`;
    case 'npm':
      // Explicit: ignore-scripts=true in an npmrc blocks `npm rebuild` too.
      return `${global ? `${sudo}npm rebuild -g ` : 'npm rebuild '}${name} --ignore-scripts=false${npmFlags}`;
    default:
      return undefined;
  }
}

function globalInstallOf(installer: PackageManager, spec: string): string {
  return { npm: `npm install -g ${spec}`, pnpm: `pnpm add -g ${spec}`, yarn: `yarn global add ${spec}`, bun: `bun add -g ${spec}` }[installer];
}

/** yarn 1 records no --ignore-optional and no failed fetch: without --force it says "Already up-to-date". */
function localInstall(installer: PackageManager, yarnBerry = false): string {
  return { npm: 'npm install', pnpm: 'pnpm install', yarn: yarnBerry ? 'yarn install' : 'yarn install --force', bun: 'bun install' }[installer];
}

/**
 * Yarn PnP told to keep the platform package packed (`unplugged: false` in dependenciesMeta, over its preferUnplugged):
 * PnP's patched fs reads the binary inside the zip, so it verifies, but no kernel starts a program from there (Node
 * 22 and 24 aborted in process.execve). Without that entry yarn install unplugs it. `yarn unplug -R` had been the fix:
 * it records `<package>@<version>` as unplugged, and the unversioned `unplugged: false` kept the next release packed.
 */
export function zippedByYarn(binary: string, entry: BinaryEntry, project: string | undefined): UserError {
  return new UserError({
    what: `cannot run ${binary}`,
    why: `it lies inside a zip archive in Yarn's cache: the project keeps ${entry.package} packed (unplugged: false in dependenciesMeta), and a program cannot be started from a zip`,
    fix: `${project ? `in ${quotePathFor(process.platform, project)}: ` : ''}remove "unplugged": false from ${entry.package} in package.json's dependenciesMeta, then run yarn install`,
    code: 'EAOSPAWN',
  });
}
