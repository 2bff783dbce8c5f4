import { builtinModule } from './builtin-module.js';
import { accessSync, constants, existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homeDirOrNone } from './home.js';
import { removeCommandFor, removeFileCommand, shellQuote } from './shell-quote.js';
import { windowsSpawnPlan } from './windows-command.js';
import { basename, join, sep } from 'node:path';

/**
 * The one place that knows how @aoagents/ao was installed: which package
 * manager laid out its folder, global or project-local, and whether the
 * native binary may take the launcher's place. The launcher, the postinstall
 * and the cutover all ask this module. Decided from the package's location
 * first (each manager's global folder and store have their own shape), then
 * the marker files a manager leaves in a project, then the agent string the
 * running manager exports to install scripts.
 * Node built-ins only: this ships inside @aoagents/ao.
 */
export type PackageManager = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface InstallLayout {
  manager: PackageManager;
  global: boolean;
  /** Yarn Plug'n'Play: no node_modules, no bin links. */
  pnp: boolean;
  /** Yarn 2 or later (Yarn PnP always is): its `yarn install` has neither `--force` nor `--refetch`. */
  yarnBerry?: boolean;
  /** pnpm with `node-linker=hoisted`: packages lie in node_modules itself, not in its `.pnpm` store, and `--force` relinks nothing. */
  pnpmHoisted?: boolean;
  /** Global installs: the node_modules folder that holds @aoagents/ao (what the cutover installs into). */
  globalRoot?: string;
  /** Project installs: the folder whose node_modules holds @aoagents/ao. */
  project?: string;
  /** The folder bunx runs ao from, which clearing bun's cache removes (the next bunx fetches ao again). */
  bunx?: boolean;
  /** `yarn dlx`'s throwaway project, removed when the call ends; each call unplugs ao from Yarn's global cache again. */
  yarnDlx?: boolean;
}

export interface LayoutFacts {
  env: NodeJS.ProcessEnv;
  platform: string;
  /** process.versions.pnp */
  pnp?: string;
  /** Whether a file exists (marker files of a project); injectable for tests. */
  exists(path: string): boolean;
  /** Under Yarn PnP: the project the running PnP runtime belongs to (a package in Yarn's cache lies outside it). */
  pnpProject?(packageDir: string): string | undefined;
  /** The `packageManager` field of a project's package.json (corepack's), when there is one. */
  declaredManager?(project: string): string | undefined;
}

const hostFacts = (env: NodeJS.ProcessEnv): LayoutFacts => ({
  env,
  platform: process.platform,
  pnp: process.versions.pnp,
  exists: existsSync,
  pnpProject: pnpRuntimeProject,
  declaredManager: packageManagerField,
});

function packageManagerField(project: string): string | undefined {
  try {
    const field = (JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { packageManager?: unknown }).packageManager;
    return typeof field === 'string' ? field : undefined;
  } catch {
    return undefined;
  }
}

interface PnpApi {
  topLevel: unknown;
  getPackageInformation(locator: unknown): { packageLocation: string } | null;
}

/** The top-level workspace of the PnP runtime that serves `packageDir` (Yarn adds findPnpApi to node:module). */
function pnpRuntimeProject(packageDir: string): string | undefined {
  try {
    const { findPnpApi } = builtinModule('node:module') as { findPnpApi?: (from: string) => PnpApi | null };
    const api = findPnpApi?.(packageDir);
    return api?.getPackageInformation(api.topLevel)?.packageLocation.replace(/[\\/]$/, '');
  } catch {
    return undefined;
  }
}

const posix = (p: string) => p.split(sep).join('/').replace(/\\/g, '/');
const native = (p: string) => (sep === '/' ? p : p.split('/').join(sep));

/**
 * bun's global folder (BUN_INSTALL, or ~/.bun), or undefined for a user with no home folder at all (ENOHOME): telling
 * the layout must never fail, it names the fix for whatever did.
 */
function bunGlobalRoot(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.BUN_INSTALL === undefined ? homeDirOrNone(env) : undefined;
  const bunInstall = env.BUN_INSTALL ?? (home === undefined ? undefined : join(home, '.bun'));
  return bunInstall === undefined ? undefined : posix(join(bunInstall, 'install', 'global', 'node_modules'));
}

/** Global folders, by manager, as they appear in the package's real path. */
function globalFromPath(p: string, f: LayoutFacts): { manager: PackageManager; globalRoot: string } | undefined {
  const bunRoot = bunGlobalRoot(f.env);
  if (bunRoot && p.startsWith(`${bunRoot}/`)) return { manager: 'bun', globalRoot: bunRoot };
  const bun = /^(.*\/\.bun\/install\/global\/node_modules)\//.exec(p);
  if (bun) return { manager: 'bun', globalRoot: bun[1]! };
  // `<pnpm home>/global/<layout version>/`: ~/.local/share/pnpm by default, anywhere with PNPM_HOME; with a
  // `global-dir` of the user's own, `<global-dir>/<layout version>/.pnpm` (a project's store is `node_modules/.pnpm`).
  const pnpm = /^(.*\/pnpm\/global\/[^/]+)\//.exec(p) ?? /^(.*\/global\/\d+)\/(?:\.pnpm|node_modules)\//.exec(p) ?? /^(.*\/\d+)\/\.pnpm\//.exec(p);
  if (pnpm) return { manager: 'pnpm', globalRoot: `${pnpm[1]}/node_modules` };
  // yarn 1: `<data dir>/global` (~/.config/yarn, $XDG_DATA_HOME/yarn, %LOCALAPPDATA%\Yarn\Data), or YARN_GLOBAL_FOLDER.
  const yarnRoot = f.env.YARN_GLOBAL_FOLDER && posix(join(f.env.YARN_GLOBAL_FOLDER, 'node_modules'));
  if (yarnRoot && p.startsWith(`${yarnRoot}/`)) return { manager: 'yarn', globalRoot: yarnRoot };
  const yarn = /^(.*\/yarn\/(?:data\/)?global\/node_modules)\//i.exec(p);
  if (yarn) return { manager: 'yarn', globalRoot: yarn[1]! };
  // `<prefix>/lib/node_modules` (`%APPDATA%\npm\node_modules` on Windows), unless that folder is a project of its own
  // (it has a package.json): a project whose folder is named lib has the same shape.
  const prefixed = (re: RegExp) => {
    const at = re.exec(p);
    return at && !f.exists(native(`${at[1]}/package.json`)) ? [p, `${at[1]}/node_modules`] : null;
  };
  const npm = prefixed(/^(.*\/lib)\/node_modules\//) ?? (f.platform === 'win32' ? (prefixed(/^(.*\/npm)\/node_modules\//i) ?? windowsNpmPrefix(p, f)) : null);
  if (npm) return { manager: 'npm', globalRoot: npm[1]! };
  return undefined;
}

/**
 * npm on Windows keeps global packages in `<prefix>\node_modules` and writes its `ao.cmd` shim
 * beside that folder, wherever the prefix is (nvm-windows, a custom `prefix`); a project keeps
 * its shims in `node_modules\.bin` and has a package.json instead.
 */
function windowsNpmPrefix(p: string, f: LayoutFacts): [string, string] | undefined {
  const at = /^(.*)\/node_modules\/@aoagents\/ao(?:\/|$)/.exec(p);
  if (!at || at[1]!.includes('/node_modules/')) return undefined;
  const prefix = at[1]!;
  const shim = f.exists(native(`${prefix}/ao.cmd`)) && !f.exists(native(`${prefix}/package.json`));
  return shim ? [p, `${prefix}/node_modules`] : undefined;
}

/** The node_modules folder and project of a hoisted or pnpm-store package path. */
function projectOf(p: string): string | undefined {
  const at = p.indexOf('/node_modules/');
  return at > 0 ? p.slice(0, at) : undefined;
}

const LOCKFILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

/** The project of a package outside any node_modules (yarn 1's `--modules-folder`): the nearest folder above it with a lockfile. */
function projectByLockfile(p: string, f: LayoutFacts): string | undefined {
  for (let dir = p.slice(0, p.lastIndexOf('/')); dir.includes('/'); dir = dir.slice(0, dir.lastIndexOf('/'))) {
    if (LOCKFILES.some((name) => f.exists(native(`${dir}/${name}`)))) return dir;
  }
  return undefined;
}

function managerFromMarkers(project: string, f: LayoutFacts): PackageManager | undefined {
  const has = (name: string) => f.exists(native(`${project}/${name}`));
  // The manager that laid out node_modules leaves its state file there; a lockfile at the root may be another
  // manager's, committed beside (repositories often keep a yarn.lock and a package-lock.json).
  if (has('node_modules/.modules.yaml')) return 'pnpm';
  if (has('node_modules/.yarn-integrity') || has('node_modules/.yarn-state.yml')) return 'yarn';
  if (has('node_modules/.package-lock.json')) return 'npm';
  // No state file (bun writes none): the manager the project declares, before lockfiles another one may have left.
  const declared = /^(npm|pnpm|yarn|bun)@/.exec(f.declaredManager?.(native(project)) ?? '')?.[1];
  if (declared) return declared as PackageManager;
  if (has('pnpm-lock.yaml')) return 'pnpm';
  if (has('yarn.lock') || has('.pnp.cjs')) return 'yarn';
  if (has('bun.lock') || has('bun.lockb')) return 'bun';
  if (has('package-lock.json')) return 'npm';
  return undefined;
}

/**
 * The project's own markers, else those of the workspace it belongs to: a workspace package whose ao is not hoisted
 * has its own node_modules, while the lockfile and the manager's state file are at the workspace root.
 */
function managerOfProject(project: string, f: LayoutFacts): { manager: PackageManager; markedAt: string } | undefined {
  const own = managerFromMarkers(project, f);
  if (own) return { manager: own, markedAt: project };
  const root = projectByLockfile(project, f);
  const manager = root ? managerFromMarkers(root, f) : undefined;
  return manager && root ? { manager, markedAt: root } : undefined;
}

/**
 * Whether a manager is installing now (a script of the install's own lifecycle runs us): only then is the agent string
 * the manager laying node_modules out. `npm run dev` in a yarn project exports npm's agent to every script it runs.
 */
const INSTALL_EVENTS = new Set(['preinstall', 'install', 'postinstall']);
const installingNow = (env: NodeJS.ProcessEnv) => INSTALL_EVENTS.has(env.npm_lifecycle_event ?? '');

/** The manager running us, from the agent string every manager exports to the scripts it runs. */
function managerFromAgent(env: NodeJS.ProcessEnv): PackageManager | undefined {
  const name = /^(npm|pnpm|yarn|bun)\//.exec(env.npm_config_user_agent ?? '')?.[1];
  return name as PackageManager | undefined;
}

/**
 * Yarn 2+ in a node_modules project: the yarn installing us says which it is, else the state file each one writes
 * (2+: `.yarn-state.yml`, 1: `.yarn-integrity`), else a `.yarnrc.yml` (which `yarn set version classic` leaves behind).
 */
function isYarnBerry(project: string | undefined, env: NodeJS.ProcessEnv, f: LayoutFacts): boolean {
  const major = installingNow(env) ? /^yarn\/(\d+)\./.exec(env.npm_config_user_agent ?? '')?.[1] : undefined;
  if (major) return Number(major) >= 2;
  if (!project) return false;
  const has = (name: string) => f.exists(native(`${project}/${name}`));
  if (has('node_modules/.yarn-state.yml')) return true;
  return !has('node_modules/.yarn-integrity') && has('.yarnrc.yml');
}

/** bunx's folder for what it runs: `<bun's cache>/.bunx-<uid>/<spec>`, in older bun `<tmp>/bunx-<uid>-<spec>`. */
const BUNX_FOLDER = /\/\.?bunx-\d+[-/]/;

/** `yarn dlx`'s throwaway project: `<tmp>/xfs-<hex>/dlx-<pid>`. */
const YARN_DLX_FOLDER = /\/xfs-[0-9a-f]+\/dlx-\d+$/;

/** The project of a package Yarn unplugged (`<project>/.yarn/unplugged/<folder>/node_modules/...`). */
const unpluggedProject = (p: string) => /^(.*)\/\.yarn\/unplugged\//.exec(p)?.[1];

/** How the package at `packageDir` (its real path, or a path to be resolved) was installed. */
export function installLayout(packageDir: string, env: NodeJS.ProcessEnv = process.env, facts: LayoutFacts = hostFacts(env)): InstallLayout {
  const p = posix(packageDir);
  const pnp = Boolean(facts.pnp) || p.includes('/.yarn/');
  const global = globalFromPath(p, facts);
  if (global) {
    const hoisted = global.manager === 'pnpm' && !p.includes('/.pnpm/') ? { pnpmHoisted: true } : {};
    return { manager: global.manager, global: true, pnp: false, ...hoisted, globalRoot: native(global.globalRoot) };
  }
  if (pnp) {
    // ao itself may sit in a zip in Yarn's cache, outside the project: the PnP runtime knows the project.
    const project = facts.pnpProject?.(packageDir) ?? unpluggedProject(p) ?? projectOf(p) ?? p.replace(/\/\.yarn\/.*$/, '');
    const dlx = YARN_DLX_FOLDER.test(posix(project)) ? { yarnDlx: true } : {};
    return { manager: 'yarn', global: false, pnp: true, yarnBerry: true, ...dlx, project: native(posix(project)) };
  }
  // pnpm's global virtual store (enable-global-virtual-store) holds the packages of every project: none in the path.
  // Its layout, wherever the store is (another disk's `.pnpm-store`, a custom store-dir): v<N>/links/<name>/<version>/<hash>/node_modules.
  // Nor in a `virtual-store-dir` outside the project's node_modules (pnpm suggests one for long paths on Windows), whose
  // entries are `<scope>+<name>@<version>/node_modules` (bun's isolated linker names them so too, in node_modules/.bun).
  const storeEntry = /^(.*)\/@[^/]+\+[^/]+@[^/]+\/node_modules\/@[^/]+\/[^/]+$/.exec(p);
  const outsideStore = storeEntry && !storeEntry[1]!.includes('/node_modules/');
  if (outsideStore || /\/v\d+\/links\/(?:@[^/]+\/)?[^/]+\/[^/]+\/[^/]+\/node_modules\//.test(p)) return { manager: 'pnpm', global: false, pnp: false };
  const project = projectOf(p) ?? projectByLockfile(p, facts);
  if (p.includes('/node_modules/.pnpm/')) return { manager: 'pnpm', global: false, pnp: false, project: project && native(project) };
  if (project && BUNX_FOLDER.test(project)) return { manager: 'bun', global: false, pnp: false, bunx: true, project: native(project) };
  // yarn dlx's project copies the .yarnrc.yml of the folder it ran in: `nodeLinker: node-modules` is common there.
  if (project && YARN_DLX_FOLDER.test(project)) return { manager: 'yarn', global: false, pnp: false, yarnBerry: true, yarnDlx: true, project: native(project) };
  // During an install the manager running the script is the one laying the folder out (markers may not exist yet).
  const installing = installingNow(env) ? managerFromAgent(env) : undefined;
  const marked = project ? managerOfProject(project, facts) : undefined;
  const manager = installing ?? marked?.manager ?? managerFromAgent(env) ?? 'npm';
  // Yarn's state file and .yarnrc.yml are where its markers were found: a workspace's root, not the workspace package.
  const berry = manager === 'yarn' && isYarnBerry(marked?.markedAt ?? project, env, facts) ? { yarnBerry: true } : {};
  // pnpm whose package is not in its .pnpm store (checked above) laid node_modules out hoisted.
  const hoisted = manager === 'pnpm' ? { pnpmHoisted: true } : {};
  return { manager, global: false, pnp: false, ...berry, ...hoisted, project: project && native(project) };
}

/** The bin link npm made for us, global (`<prefix>/bin/ao`) or local (`node_modules/.bin/ao`), when it is a plain symlink to bin/ao. */
export function npmBinLink(packageDir: string): string | undefined {
  const launcher = join(packageDir, 'bin', 'ao');
  const candidates = [join(packageDir, '..', '..', '..', '..', 'bin', 'ao'), join(packageDir, '..', '..', '.bin', 'ao'), join(packageDir, '..', '.bin', 'ao')];
  let ours: string;
  try {
    ours = realpathSync(launcher);
  } catch {
    return undefined;
  }
  for (const link of candidates) {
    try {
      if (lstatSync(link).isSymbolicLink() && realpathSync(link) === ours) return link;
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * Why the native binary must not take the launcher's place, or undefined when
 * it may. Only npm on POSIX runs a bin through its symlink, so the kernel
 * execs whatever file bin/ao is; every other manager execs `node bin/ao`
 * (pnpm and bun shims, yarn) or has no bin links (Yarn PnP), and a native
 * binary there breaks every call. AO_BINARY_PATH needs the launcher to honour it.
 */
export function swapBlocker(
  packageDir: string,
  layout: InstallLayout,
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
): string | undefined {
  if (platform === 'win32') return 'Windows runs bins through a .cmd shim';
  if (env.AO_BINARY_PATH) return 'AO_BINARY_PATH is set, and only the launcher honours it';
  if (layout.pnp) return "Yarn Plug'n'Play has no bin links";
  if (layout.manager !== 'npm') return `${layout.manager} runs bins through node`;
  if (!npmBinLink(packageDir)) return 'the ao bin link is not a plain symlink to bin/ao';
  try {
    accessSync(join(packageDir, 'bin'), constants.W_OK);
  } catch {
    return `${join(packageDir, 'bin')} is not writable`;
  }
  return undefined;
}

/**
 * `sudo ` where a global install lies in a folder root owns and this user may not write (`sudo npm i -g` with a
 * distro's Node, `sudo yarn global add`): a repair printed without it failed there with EACCES. Only npm and yarn 1,
 * whose global folder under sudo is the one a root install used (pnpm's and bun's follow PNPM_HOME and BUN_INSTALL,
 * which sudo resets).
 */
export function sudoFor(layout: InstallLayout, platform = process.platform): string {
  const { global, globalRoot, manager } = layout;
  if (!global || !globalRoot || platform === 'win32' || (manager !== 'npm' && manager !== 'yarn') || process.getuid?.() === 0) return '';
  try {
    accessSync(globalRoot, constants.W_OK);
    return '';
  } catch {
    return statSync(globalRoot, { throwIfNoEntry: false })?.uid === 0 ? 'sudo ' : '';
  }
}

/** Yarn's name for a package folder's package in its cache: `@scope/name` is `@scope-name`. */
const yarnSlug = (packageDir: string) => /(?:^|\/)((?:@[^/]+\/)?[^/]+)$/.exec(packageDir)![1]!.replace('/', '-');

/**
 * The caches the next yarn dlx call unpacks from, as the yarn running ao resolves them in `project` (yarn dlx's, which
 * lasts the call): its cacheFolder unless that lies in the throwaway project, and `<globalFolder>/cache`, the global
 * cache or the mirror that fills a cache of the project's own (an absolute cacheFolder in the .yarnrc.yml yarn dlx
 * copies, which it unpacks from first). Yarn puts a shim of itself in npm_execpath for what it runs. Empty when no
 * Yarn 2+ runs ao or it cannot say.
 */
function yarnCacheFolders(project: string | undefined): string[] {
  const yarn = process.env.npm_execpath;
  if (!project || !yarn || !/^yarn\/(?:[2-9]|\d\d)/.test(process.env.npm_config_user_agent ?? '')) return [];
  const { spawnSync } = builtinModule('node:child_process') as typeof import('node:child_process');
  const get = (key: string) => {
    // On Windows the shim is a sh script, which Windows cannot start (the lookup had failed and every Windows user got
    // `yarn cache clean --all`), beside a `.cmd` twin that cmd.exe runs.
    const args = ['config', 'get', key];
    const plan = process.platform === 'win32' ? windowsSpawnPlan(yarn, args, process.env) : { file: yarn, args };
    const ran = spawnSync(plan.file, plan.args, {
      cwd: project,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
      windowsVerbatimArguments: plan.windowsVerbatimArguments,
    });
    return ran.status === 0 ? ran.stdout.trim() : '';
  };
  const globalFolder = get('globalFolder');
  if (!globalFolder) return [];
  const own = get('cacheFolder');
  const mirror = join(globalFolder, 'cache');
  // Either separator: yarn answers in the platform's own, the project may come with forward slashes.
  const inProject = `${own.replace(/\\/g, '/')}/`.startsWith(`${project.replace(/\\/g, '/')}/`);
  return own && own !== mirror && !inProject ? [own, mirror] : [mirror];
}

/**
 * The command that deletes a folder with what it holds, for the shell a user of `platform` pastes it into: cmd.exe on
 * Windows, where `rm -rf` is no command (a local project's repair had been `rm -rf node_modules/... && npm install`,
 * which left the altered binary in place there).
 */
export function removeFolderCommand(folder: string, platform: string = process.platform): string {
  return removeCommandFor(platform, folder, 'tree');
}

/**
 * The command that puts a release's files back exactly, for this install
 * method (a plain `npm install` in a project says "up to date" and rewrites
 * nothing; `npm install -g` of the same version keeps a modified platform
 * package). `platformDir` is the installed platform package and `binary` the file found altered, when known.
 */
export function reinstallCommand(layout: InstallLayout, spec: string, platformDir?: string, binary?: string, platform = process.platform): string {
  const name = spec.replace(/@[^@/]+$/, '');
  const inside = (path: string) => (layout.project ? posix(path).replace(`${posix(layout.project)}/`, '') : path);
  // pnpm hard-links its store and believes a store file whose mtime is not newer than its last check: an edit in
  // place with the mtime put back would be linked again by `--force`. A fresh mtime makes pnpm re-hash and refetch it.
  const touch = binary && platform !== 'win32' ? `touch ${shellQuote(inside(binary))} && ` : '';
  // pnpm's hoisted linker answers `--force` with "Already up to date": only a folder it finds missing is linked again.
  const pnpmRemove = layout.pnpmHoisted
    ? removeFolderCommand(inside(platformDir ?? join(layout.globalRoot ?? join(layout.project ?? '.', 'node_modules'), ...name.split('/'))), platform)
    : undefined;
  if (layout.global) {
    const sudo = sudoFor(layout, platform);
    return {
      npm: `${sudo}npm uninstall -g ${name} && ${sudo}npm install -g ${spec}`,
      pnpm: pnpmRemove ? `${touch}${pnpmRemove} && pnpm add -g ${spec}` : `${touch}pnpm add -g ${spec} --force`,
      yarn: `${sudo}yarn global remove ${name} && ${sudo}yarn global add ${spec}`,
      bun: `bun pm cache rm && bun remove -g ${name} && bun add -g ${spec}`,
    }[layout.manager];
  }
  // bun hard-links bunx's folder from its cache too, and refuses to clear a cache holding the folder it runs in: a
  // project's fix run there failed, leaving ao without its platform package. Cleared from anywhere else, the next bunx
  // fetches ao again.
  if (layout.bunx) return 'bun pm cache rm';
  // The folder to remove, relative to the project: the package, or under PnP the whole unplugged folder holding it
  // (`<pnpUnpluggedFolder>/<name>-npm-<version>-<hash>/node_modules/<name>`, .yarn/unplugged unless the project says).
  const unplugged = layout.pnp && platformDir ? /^(.*)\/node_modules\/(?:@[^/]+\/)?[^/]+$/.exec(posix(platformDir))?.[1] : undefined;
  // yarn dlx's folder is gone once the call ends, and the next call unpacks the package again from its zip in Yarn's
  // cache (`<cache>/<the unplugged folder's name>-<cache key>.zip`; outside PnP no folder carries the locator's hash):
  // that zip goes. The cache is the one this yarn resolved, named by its path: `yarn` where the user runs the fix may be
  // yarn 1, or read another .yarnrc.yml (yarn dlx copies the one of the folder it ran in), and `rm -f` of the wrong
  // cache matches nothing and exits 0.
  if (layout.yarnDlx) {
    const zipped = unplugged ? basename(unplugged) : platformDir && `${yarnSlug(posix(platformDir))}-npm-${spec.slice(name.length + 1)}`;
    const caches = zipped ? yarnCacheFolders(layout.project) : [];
    if (!zipped || !caches.length) return 'yarn cache clean --all';
    return removeFileCommand(
      caches.map((cache) => `${cache}${platform === 'win32' ? '\\' : '/'}${zipped}-*.zip`),
      platform,
    );
  }
  const inProject = layout.project ? ` (in ${layout.project})` : '';
  const removed = layout.pnp ? unplugged : platformDir && posix(platformDir);
  const remove = removed && layout.project ? removeFolderCommand(inside(removed), platform) : undefined;
  switch (layout.manager) {
    case 'npm':
      return `${remove ? `${remove} && npm install` : 'npm ci'}${inProject}`;
    case 'pnpm':
      return pnpmRemove ? `${touch}${pnpmRemove} && pnpm install${inProject}` : `${touch}pnpm install --force${inProject}`;
    case 'yarn': {
      // Yarn 2+ re-creates a removed package folder (unplugged or in node_modules) on a plain install. Its pnpm linker
      // (and nmMode: hardlinks-global) hard-links files from a content index in its global folder, which an edit in
      // place altered too and a reinstall links again: that index entry goes first.
      const indexed = layout.yarnBerry && !layout.pnp && binary && platform !== 'win32' && (statSync(binary, { throwIfNoEntry: false })?.nlink ?? 1) > 1;
      // -H: a global folder that is itself a symlink is searched, not skipped (find would delete nothing and exit 0).
      const unindex = indexed ? `find -H "$(yarn config get globalFolder)" -samefile ${shellQuote(inside(binary!))} -delete && ` : '';
      if (layout.yarnBerry)
        return `${unindex}${remove ?? removeFolderCommand(layout.pnp ? '.yarn/unplugged' : 'node_modules', platform)} && yarn install${inProject}`;
      // yarn 1 copies from its cache and skips a file whose size and mtime match the cached one, --force or not: an edit
      // in place with the mtime put back survived it. A removed folder is copied again.
      return `${remove ? `${remove} && ` : ''}yarn install --force${inProject}`;
    }
    case 'bun':
      // bun hard-links from its cache, so an edit in place altered the cached copy too: clear it, or bun links it again.
      return `${remove ? `${remove} && ` : ''}bun pm cache rm && bun install --force${inProject}`;
  }
}
