import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installLayout, reinstallCommand, swapBlocker, type LayoutFacts } from '../../common/install-layout.js';
import { removeFileCommand } from '../../common/shell-quote.js';

const facts = (files: string[] = [], env: NodeJS.ProcessEnv = {}, pnp?: string): LayoutFacts => ({
  env,
  platform: 'linux',
  pnp,
  exists: (p) => files.includes(p),
});
const SPEC = '@aoagents/ao@0.10.0';

describe('the install layout, decided in one place', () => {
  it.each([
    ['/usr/local/lib/node_modules/@aoagents/ao', 'npm', '/usr/local/lib/node_modules'],
    ['/home/u/.local/share/pnpm/global/5/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', 'pnpm', '/home/u/.local/share/pnpm/global/5/node_modules'],
    ['/home/u/.config/yarn/global/node_modules/@aoagents/ao', 'yarn', '/home/u/.config/yarn/global/node_modules'],
    ['/opt/pnpm-home/global/5/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', 'pnpm', '/opt/pnpm-home/global/5/node_modules'],
    // A global-dir of the user's choosing: only the layout version's folder holds the .pnpm store.
    ['/opt/pnpm-packages/5/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', 'pnpm', '/opt/pnpm-packages/5/node_modules'],
    ['/home/u/.bun/install/global/node_modules/@aoagents/ao', 'bun', '/home/u/.bun/install/global/node_modules'],
  ] as const)('global: %s is %s', (dir, manager, globalRoot) => {
    expect(installLayout(dir, {}, facts())).toEqual({ manager, global: true, pnp: false, globalRoot });
  });

  it("pnpm's virtual store outside any project's node_modules (virtual-store-dir) is pnpm's, with no project in its path", () => {
    expect(installLayout('/vs/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', {}, facts())).toEqual({ manager: 'pnpm', global: false, pnp: false });
    // bun's isolated linker names its entries the same way, inside the project's node_modules.
    const bun = '/p/node_modules/.bun/@aoagents+ao@0.10.0/node_modules/@aoagents/ao';
    expect(installLayout(bun, {}, facts(['/p/bun.lock']))).toMatchObject({ manager: 'bun', project: '/p' });
  });

  it("pnpm's hoisted linker (no .pnpm store in the package's path) is told from its default, globally and in a project", () => {
    expect(installLayout('/home/u/.local/share/pnpm/global/5/node_modules/@aoagents/ao', {}, facts())).toEqual({
      manager: 'pnpm',
      global: true,
      pnp: false,
      pnpmHoisted: true,
      globalRoot: '/home/u/.local/share/pnpm/global/5/node_modules',
    });
    expect(installLayout('/p/node_modules/@aoagents/ao', {}, facts(['/p/node_modules/.modules.yaml']))).toEqual({
      manager: 'pnpm',
      global: false,
      pnp: false,
      pnpmHoisted: true,
      project: '/p',
    });
    expect(installLayout('/p/node_modules/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', {}, facts()).pnpmHoisted).toBeUndefined();
  });

  it('yarn 1 global is known by its global folder: the default on each OS, or YARN_GLOBAL_FOLDER wherever it points', () => {
    const dir = '/opt/yg/node_modules/@aoagents/ao';
    expect(installLayout(dir, {}, facts())).toMatchObject({ manager: 'npm', global: false });
    const env = { YARN_GLOBAL_FOLDER: '/opt/yg' };
    expect(installLayout(dir, env, facts([], env))).toEqual({ manager: 'yarn', global: true, pnp: false, globalRoot: '/opt/yg/node_modules' });
    const win = 'C:/Users/ann/AppData/Local/Yarn/Data/global/node_modules/@aoagents/ao';
    expect(installLayout(win, {}, facts())).toMatchObject({ manager: 'yarn', global: true });
  });

  it('Windows npm with a prefix of any name (nvm-windows, a custom prefix) is global: its ao.cmd shim sits beside node_modules', () => {
    const win = (files: string[]): LayoutFacts => ({ env: {}, platform: 'win32', exists: (p) => files.includes(p.split('\\').join('/')) });
    const dir = 'C:/Users/Ann & Bo/tools/node_modules/@aoagents/ao';
    expect(installLayout(dir, {}, win(['C:/Users/Ann & Bo/tools/ao.cmd']))).toMatchObject({ manager: 'npm', global: true });
    // A project has its shims in node_modules/.bin and a package.json of its own.
    expect(installLayout(dir, {}, win(['C:/Users/Ann & Bo/tools/package.json', 'C:/Users/Ann & Bo/tools/ao.cmd']))).toMatchObject({
      manager: 'npm',
      global: false,
    });
    expect(installLayout(dir, {}, win([]))).toMatchObject({ global: false });
    // npm's default Windows prefix, %APPDATA%\npm, and a project whose folder is named npm (it has a package.json).
    const appData = 'C:/Users/ann/AppData/Roaming/npm/node_modules/@aoagents/ao';
    expect(installLayout(appData, {}, win([]))).toMatchObject({ manager: 'npm', global: true, globalRoot: 'C:/Users/ann/AppData/Roaming/npm/node_modules' });
    expect(installLayout('C:/code/npm/node_modules/@aoagents/ao', {}, win(['C:/code/npm/package.json']))).toMatchObject({
      global: false,
      project: 'C:/code/npm',
    });
  });

  it('a project is told apart by the marker files its manager leaves, and during an install by the running manager', () => {
    const dir = '/p/node_modules/@aoagents/ao';
    expect(installLayout(dir, {}, facts(['/p/bun.lock'])).manager).toBe('bun');
    expect(installLayout(dir, {}, facts(['/p/node_modules/.yarn-integrity'])).manager).toBe('yarn');
    expect(installLayout(dir, {}, facts(['/p/node_modules/.modules.yaml'])).manager).toBe('pnpm');
    // A project whose folder is named lib has the shape of npm's global `<prefix>/lib/node_modules`, and a package.json.
    expect(installLayout('/home/u/code/lib/node_modules/@aoagents/ao', {}, facts(['/home/u/code/lib/package.json']))).toEqual({
      manager: 'npm',
      global: false,
      pnp: false,
      project: '/home/u/code/lib',
    });
    expect(installLayout(dir, {}, facts(['/p/package-lock.json']))).toEqual({ manager: 'npm', global: false, pnp: false, project: '/p' });
    // A lockfile of another manager committed beside: the state file in node_modules says who laid it out.
    expect(installLayout(dir, {}, facts(['/p/yarn.lock', '/p/package-lock.json', '/p/node_modules/.package-lock.json'])).manager).toBe('npm');
    expect(installLayout(dir, {}, facts(['/p/pnpm-lock.yaml', '/p/yarn.lock', '/p/node_modules/.yarn-integrity'])).manager).toBe('yarn');
    // A postinstall run by bun in a fresh project, before bun wrote its lockfile.
    const env = { npm_lifecycle_event: 'postinstall', npm_config_user_agent: 'bun/1.4.5 npm/? node/v20 linux x64' };
    expect(installLayout(dir, env, facts([], env)).manager).toBe('bun');
    expect(installLayout('/p/node_modules/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', {}, facts()).manager).toBe('pnpm');
    // pnpm's global virtual store: shared by every project, so none is named.
    const gvs = '/h/.local/share/pnpm/store/v10/links/@aoagents/ao/0.10.0/acab70ca/node_modules/@aoagents/ao';
    expect(installLayout(gvs, {}, facts())).toEqual({ manager: 'pnpm', global: false, pnp: false });
    // The same store wherever it is: at another disk's root (pnpm's default for a project there) or a custom store-dir.
    for (const store of ['/mnt/data/.pnpm-store', 'D:/.pnpm-store', '/h/.cache/pnpm-store']) {
      const dir = `${store}/v10/links/@aoagents/ao/0.10.0/acab70ca/node_modules/@aoagents/ao`;
      expect(installLayout(dir, {}, facts()), store).toEqual({ manager: 'pnpm', global: false, pnp: false });
    }
    // A project that happens to sit in a folder named links is a project.
    expect(installLayout('/home/u/v2/links/app/node_modules/@aoagents/ao', {}, facts(['/home/u/v2/links/app/bun.lock']))).toMatchObject({
      manager: 'bun',
      project: '/home/u/v2/links/app',
    });
    // A workspace package with ao not hoisted: the manager's lockfile and state file are at the workspace root.
    expect(installLayout('/r/packages/app/node_modules/@aoagents/ao', {}, facts(['/r/bun.lock']))).toEqual({
      manager: 'bun',
      global: false,
      pnp: false,
      project: '/r/packages/app',
    });
    expect(installLayout('/r/packages/app/node_modules/@aoagents/ao', {}, facts(['/r/yarn.lock', '/r/node_modules/.yarn-integrity'])).manager).toBe('yarn');
    // yarn 1's --modules-folder: no node_modules in the path, the project is where the lockfile is.
    expect(installLayout('/p/vendor_modules/@aoagents/ao', {}, facts(['/p/yarn.lock']))).toEqual({ manager: 'yarn', global: false, pnp: false, project: '/p' });
    expect(installLayout('/p/.yarn/unplugged/@aoagents-ao-npm-0.10.0/node_modules/@aoagents/ao', {}, facts([], {}, '3'))).toMatchObject({
      manager: 'yarn',
      pnp: true,
      project: '/p',
    });
  });

  // `npm run dev` in a yarn project (or `bun run` as the script runner of an npm project) exports its own agent string:
  // only the manager running an install lays node_modules out; a script that calls ao says nothing about who did.
  it("a project script run by another manager than the project's (npm run in a yarn project) does not change the manager", () => {
    const dir = '/p/node_modules/@aoagents/ao';
    const yarn1 = facts(['/p/yarn.lock', '/p/node_modules/.yarn-integrity']);
    expect(installLayout(dir, { npm_lifecycle_event: 'dev', npm_config_user_agent: 'npm/11.6.2 node/v24.11.0 linux x64 workspaces/false' }, yarn1)).toEqual({
      manager: 'yarn',
      global: false,
      pnp: false,
      project: '/p',
    });
    const npm = facts(['/p/package-lock.json', '/p/node_modules/.package-lock.json']);
    expect(installLayout(dir, { npm_lifecycle_event: 'check', npm_config_user_agent: 'bun/1.4.5 npm/? node/v24.3.0 linux x64' }, npm).manager).toBe('npm');
    const berry = facts(['/p/yarn.lock', '/p/.yarnrc.yml', '/p/node_modules/.yarn-state.yml']);
    expect(installLayout(dir, { npm_lifecycle_event: 'dev', npm_config_user_agent: 'yarn/1.22.22 npm/? node/v20.20.2 linux x64' }, berry).yarnBerry).toBe(true);
    // The install itself: the manager running ao's postinstall is the one laying the folder out, markers or not.
    expect(installLayout(dir, { npm_lifecycle_event: 'postinstall', npm_config_user_agent: 'bun/1.4.5 npm/? node/v24.3.0 linux x64' }, npm).manager).toBe(
      'bun',
    );
  });

  // bun leaves no state file in node_modules, and a project moving from yarn to bun (or back) keeps both lockfiles for
  // a while: the `packageManager` field the project declares (corepack's) names who installs it, so the repair command
  // is bun's, not `yarn install --force` run over bun's node_modules. A state file still wins: it says who laid it out.
  it("a project's packageManager field decides between lockfiles when node_modules holds no manager's state file", () => {
    const project = mkdtempSync(join(tmpdir(), 'ao-declared-'));
    try {
      const dir = join(project, 'node_modules', '@aoagents', 'ao');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"name":"@aoagents/ao","version":"0.10.0"}');
      for (const lock of ['yarn.lock', 'bun.lock']) writeFileSync(join(project, lock), '');
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', packageManager: 'bun@1.4.5' }));
      expect(installLayout(dir, {})).toEqual({ manager: 'bun', global: false, pnp: false, project });
      expect(reinstallCommand(installLayout(dir, {}), SPEC)).toBe(`bun pm cache rm && bun install --force (in ${project})`);
      // corepack pins a version with its hash; a field naming no manager we know is no answer.
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', packageManager: 'bun@1.4.5+sha512.abc' }));
      expect(installLayout(dir, {}).manager).toBe('bun');
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', packageManager: 'deno@2.0.0' }));
      expect(installLayout(dir, {}).manager).toBe('yarn');
      writeFileSync(join(project, 'node_modules', '.yarn-integrity'), '{}');
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', packageManager: 'pnpm@9.0.0' }));
      expect(installLayout(dir, {}).manager).toBe('yarn');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it("Yarn 2+ is told from Yarn 1 (their `yarn install` takes different flags), and a PnP package in Yarn's cache belongs to the runtime's project", () => {
    const dir = '/p/node_modules/@aoagents/ao';
    expect(installLayout(dir, {}, facts(['/p/yarn.lock', '/p/node_modules/.yarn-state.yml']))).toMatchObject({ manager: 'yarn', yarnBerry: true });
    expect(installLayout(dir, {}, facts(['/p/yarn.lock', '/p/.yarnrc.yml']))).toMatchObject({ manager: 'yarn', yarnBerry: true });
    expect(installLayout(dir, {}, facts(['/p/yarn.lock', '/p/node_modules/.yarn-integrity'])).yarnBerry).toBeUndefined();
    // Run later (no yarn running us) in a yarn 1 project with a .yarnrc.yml left about: yarn 1's own state file decides.
    expect(installLayout(dir, {}, facts(['/p/yarn.lock', '/p/.yarnrc.yml', '/p/node_modules/.yarn-integrity'])).yarnBerry).toBeUndefined();
    // A yarn 4 workspace package whose ao is not hoisted (nmHoistingLimits): the state file and .yarnrc.yml are at the root.
    const inWorkspace = '/r/packages/app/node_modules/@aoagents/ao';
    expect(installLayout(inWorkspace, {}, facts(['/r/yarn.lock', '/r/.yarnrc.yml', '/r/node_modules/.yarn-state.yml']))).toMatchObject({
      manager: 'yarn',
      yarnBerry: true,
      project: '/r/packages/app',
    });
    expect(installLayout(inWorkspace, {}, facts(['/r/yarn.lock', '/r/node_modules/.yarn-integrity'])).yarnBerry).toBeUndefined();
    const env = { npm_lifecycle_event: 'postinstall', npm_config_user_agent: 'yarn/4.18.1 npm/? node/v22.0.0 linux x64' };
    expect(installLayout(dir, env, facts([], env))).toMatchObject({ manager: 'yarn', yarnBerry: true });
    // yarn 1 installing where a .yarnrc.yml lies about (`yarn set version classic` leaves one): the running yarn decides.
    const yarn1 = { npm_lifecycle_event: 'postinstall', npm_config_user_agent: 'yarn/1.22.22 npm/? node/v22.0.0 linux x64' };
    expect(installLayout(dir, yarn1, facts(['/p/.yarnrc.yml'], yarn1)).yarnBerry).toBeUndefined();
    const zip = '/home/u/.yarn/berry/cache/@aoagents-ao-npm-0.10.0-ee1d9d6391-10c0.zip/node_modules/@aoagents/ao';
    const pnpFacts = { ...facts([], {}, '3'), pnpProject: (from: string) => (from === zip ? '/work/app' : undefined) };
    expect(installLayout(zip, {}, pnpFacts)).toEqual({ manager: 'yarn', global: false, pnp: true, yarnBerry: true, project: '/work/app' });
  });

  it("yarn dlx's throwaway project is known under PnP and node-modules, and its repair removes the platform package's zip from the cache that yarn resolves", () => {
    const zip = '/home/u/.yarn/berry/cache/@aoagents-ao-npm-0.10.0-ee1d9d6391-10c0.zip/node_modules/@aoagents/ao';
    const dlx = '/tmp/xfs-7997212d/dlx-1897';
    const layout = installLayout(zip, {}, { ...facts([], {}, '3'), pnpProject: () => dlx });
    expect(layout).toEqual({ manager: 'yarn', global: false, pnp: true, yarnBerry: true, yarnDlx: true, project: dlx });
    // yarn dlx copies the .yarnrc.yml of the folder it ran in: `nodeLinker: node-modules` too.
    const hoisted = installLayout(`${dlx}/node_modules/@aoagents/ao`, {}, facts([`${dlx}/node_modules/.yarn-state.yml`]));
    expect(hoisted).toEqual({ manager: 'yarn', global: false, pnp: false, yarnBerry: true, yarnDlx: true, project: dlx });
    // The yarn running ao (its shim in npm_execpath) names its global folder: yarn 1 or another .yarnrc.yml elsewhere would not.
    const tmp = mkdtempSync(join(tmpdir(), 'ao-yarn-dlx-'));
    const running = join(tmp, 'xfs-7997212d', 'dlx-1897');
    mkdirSync(running, { recursive: true });
    const yarn = join(tmp, 'yarn');
    // yarn dlx's own cacheFolder lies in its throwaway project, gone with it: only the global cache is named.
    writeFileSync(
      yarn,
      `#!/bin/sh\n[ "$PWD" = ${running} ] || exit 1\ncase "$*" in\n"config get globalFolder") echo '/home/u/my yarn' ;;\n"config get cacheFolder") echo ${running}/.yarn/cache ;;\n*) exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const saved = { execpath: process.env.npm_execpath, agent: process.env.npm_config_user_agent };
    Object.assign(process.env, { npm_execpath: yarn, npm_config_user_agent: 'yarn/4.9.1 npm/? node/v22.0.0 linux x64' });
    try {
      const platformDir = `${dlx}/.yarn/unplugged/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e/node_modules/@aoagents/ao-linux-x64`;
      expect(reinstallCommand({ ...layout, project: running }, SPEC, platformDir, `${platformDir}/bin/ao`)).toBe(
        "rm -f '/home/u/my yarn/cache'/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e-*.zip",
      );
      // Outside PnP no folder carries the locator's hash.
      expect(reinstallCommand({ ...hoisted, project: running }, SPEC, `${running}/node_modules/@aoagents/ao-linux-x64`)).toBe(
        "rm -f '/home/u/my yarn/cache'/@aoagents-ao-linux-x64-npm-0.10.0-*.zip",
      );
    } finally {
      for (const [key, value] of Object.entries({ npm_execpath: saved.execpath, npm_config_user_agent: saved.agent })) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(tmp, { recursive: true, force: true });
    }
    // A project folder of that name elsewhere is a project.
    expect(installLayout(zip, {}, { ...facts([], {}, '3'), pnpProject: () => '/work/dlx-1897' }).yarnDlx).toBeUndefined();
  });

  // One place picks `del /q` or `rm -f` and quotes the paths: a pattern in a folder with a space stays a pattern.
  it('removes files with the command of the shell the user pastes it into, a * in a name kept a pattern', () => {
    expect(removeFileCommand(['package-lock.json', '/my yarn/cache/a b-*.zip'], 'linux')).toBe("rm -f package-lock.json '/my yarn/cache'/'a b-'*.zip");
    expect(removeFileCommand(['package-lock.json', 'C:\\my yarn\\cache\\a-*.zip'], 'win32')).toBe('del /q package-lock.json "C:\\my yarn\\cache\\a-*.zip"');
  });

  it('names the command that repairs each install method', () => {
    expect(reinstallCommand({ manager: 'npm', global: true, pnp: false }, SPEC)).toBe('npm uninstall -g @aoagents/ao && npm install -g @aoagents/ao@0.10.0');
    expect(reinstallCommand({ manager: 'npm', global: false, pnp: false, project: '/p' }, SPEC, '/p/node_modules/@aoagents/ao-linux-x64')).toBe(
      'rm -rf node_modules/@aoagents/ao-linux-x64 && npm install (in /p)',
    );
    // A platform package outside the project (hoisted to a workspace root), in a folder with a space: one quoted word.
    expect(
      reinstallCommand({ manager: 'npm', global: false, pnp: false, project: '/w s/packages/app' }, SPEC, '/w s/node_modules/@aoagents/ao-linux-x64'),
    ).toBe("rm -rf '/w s/node_modules/@aoagents/ao-linux-x64' && npm install (in /w s/packages/app)");
    expect(reinstallCommand({ manager: 'pnpm', global: true, pnp: false }, SPEC)).toBe('pnpm add -g @aoagents/ao@0.10.0 --force');
    // On Windows a command cmd.exe runs (it has no rm), quoted the way cmd reads a path with a space.
    const winProject = { manager: 'npm', global: false, pnp: false, project: 'C:\\w s\\app' } as const;
    expect(reinstallCommand(winProject, SPEC, 'C:\\w s\\node_modules\\@aoagents\\ao-win32-x64', undefined, 'win32')).toBe(
      'rmdir /s /q "C:\\w s\\node_modules\\@aoagents\\ao-win32-x64" && npm install (in C:\\w s\\app)',
    );
    // cmd splits a word at `,`, `;` and `=` too: unquoted, `rmdir /s /q C:\a,b\...` deleted C:\a and a folder under the current one.
    for (const folder of ['C:\\w\\a,b', 'C:\\w\\a=b', 'C:\\w\\a;b']) {
      expect(reinstallCommand({ ...winProject, project: `${folder}\\app` }, SPEC, `${folder}\\node_modules\\@aoagents\\ao-win32-x64`, undefined, 'win32')).toBe(
        `rmdir /s /q "${folder}\\node_modules\\@aoagents\\ao-win32-x64" && npm install (in ${folder}\\app)`,
      );
    }
    // The altered file's mtime made fresh, so pnpm re-hashes its store copy; quoted for the shell; no `touch` on Windows.
    const pnpmBin = '/h/pnpm home/global/5/.pnpm/@aoagents+ao-linux-x64@0.10.0/node_modules/@aoagents/ao-linux-x64/bin/ao';
    expect(reinstallCommand({ manager: 'pnpm', global: true, pnp: false }, SPEC, dirname(dirname(pnpmBin)), pnpmBin, 'linux')).toBe(
      `touch '${pnpmBin}' && pnpm add -g @aoagents/ao@0.10.0 --force`,
    );
    expect(reinstallCommand({ manager: 'pnpm', global: true, pnp: false }, SPEC, dirname(dirname(pnpmBin)), pnpmBin, 'win32')).toBe(
      'pnpm add -g @aoagents/ao@0.10.0 --force',
    );
    // pnpm's hoisted linker relinks only a folder it finds missing (`--force` says "Already up to date").
    const hoisted = { manager: 'pnpm', global: false, pnp: false, pnpmHoisted: true, project: '/p' } as const;
    const hoistedDir = '/p/node_modules/@aoagents/ao-linux-x64';
    expect(reinstallCommand(hoisted, SPEC, hoistedDir, `${hoistedDir}/bin/ao`, 'linux')).toBe(
      'touch node_modules/@aoagents/ao-linux-x64/bin/ao && rm -rf node_modules/@aoagents/ao-linux-x64 && pnpm install (in /p)',
    );
    expect(reinstallCommand(hoisted, SPEC)).toBe('rm -rf node_modules/@aoagents/ao && pnpm install (in /p)');
    const hoistedGlobal = { manager: 'pnpm', global: true, pnp: false, pnpmHoisted: true, globalRoot: '/h/pnpm/global/5/node_modules' } as const;
    expect(reinstallCommand(hoistedGlobal, SPEC)).toBe('rm -rf /h/pnpm/global/5/node_modules/@aoagents/ao && pnpm add -g @aoagents/ao@0.10.0');
    const pnp = { manager: 'yarn', global: false, pnp: true, yarnBerry: true, project: '/p' } as const;
    expect(reinstallCommand(pnp, SPEC, '/p/.yarn/unplugged/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e/node_modules/@aoagents/ao-linux-x64')).toBe(
      'rm -rf .yarn/unplugged/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e && yarn install (in /p)',
    );
    const berry = { manager: 'yarn', global: false, pnp: false, yarnBerry: true, project: '/p' } as const;
    expect(reinstallCommand(berry, SPEC, '/p/node_modules/@aoagents/ao-linux-x64')).toBe('rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install (in /p)');
    expect(reinstallCommand({ ...berry, yarnBerry: undefined }, SPEC)).toBe('yarn install --force (in /p)');
    // yarn 1 keeps a file whose size and mtime match its cache's, --force or not: the altered package's folder goes first.
    expect(reinstallCommand({ ...berry, yarnBerry: undefined }, SPEC, '/p/node_modules/@aoagents/ao-linux-x64')).toBe(
      'rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install --force (in /p)',
    );
    // A binary hard-linked from Yarn's content index (its pnpm linker, nmMode: hardlinks-global): the index entry goes first.
    const project = mkdtempSync(join(tmpdir(), 'ao-yarn-index-'));
    const bin = join(project, 'node_modules', '.store', 'x', 'package', 'bin', 'ao');
    mkdirSync(dirname(bin), { recursive: true });
    writeFileSync(bin, 'ao');
    const atProject = { ...berry, project };
    expect(reinstallCommand(atProject, SPEC, dirname(dirname(bin)), bin)).toBe(`rm -rf node_modules/.store/x/package && yarn install (in ${project})`);
    linkSync(bin, join(project, 'index.dat'));
    expect(reinstallCommand(atProject, SPEC, dirname(dirname(bin)), bin)).toBe(
      `find -H "$(yarn config get globalFolder)" -samefile node_modules/.store/x/package/bin/ao -delete && rm -rf node_modules/.store/x/package && yarn install (in ${project})`,
    );
    rmSync(project, { recursive: true, force: true });
    expect(reinstallCommand({ manager: 'bun', global: true, pnp: false }, SPEC)).toBe(
      'bun pm cache rm && bun remove -g @aoagents/ao && bun add -g @aoagents/ao@0.10.0',
    );
    // bunx's folder, in bun's cache (bun 1.4) or, in older bun, in the temp folder: clearing bun's cache removes either.
    for (const bunx of ['/h/.bun/install/cache/.bunx-1000/@aoagents/ao@latest', '/tmp/bunx-1000-@aoagents/ao@latest']) {
      const platformDir = `${bunx}/node_modules/@aoagents/ao-linux-x64`;
      expect(reinstallCommand(installLayout(`${bunx}/node_modules/@aoagents/ao`, {}, facts([`${bunx}/bun.lock`])), SPEC, platformDir)).toBe('bun pm cache rm');
    }
  });

  describe('whether the native binary may replace the launcher', () => {
    const root = mkdtempSync(join(tmpdir(), 'ao-layout-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const pkg = join(root, 'lib', 'node_modules', '@aoagents', 'ao');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    writeFileSync(join(pkg, 'bin', 'ao'), '#!/usr/bin/env node\n');
    mkdirSync(join(root, 'bin'));
    symlinkSync(join('..', 'lib', 'node_modules', '@aoagents', 'ao', 'bin', 'ao'), join(root, 'bin', 'ao'));
    const npm = { manager: 'npm', global: true, pnp: false } as const;

    it('only npm with its plain bin symlink, on POSIX, without AO_BINARY_PATH', () => {
      expect(swapBlocker(pkg, npm, {}, 'linux')).toBeUndefined();
      expect(swapBlocker(pkg, npm, { AO_BINARY_PATH: '/x/ao' }, 'linux')).toBe('AO_BINARY_PATH is set, and only the launcher honours it');
      expect(swapBlocker(pkg, { ...npm, manager: 'pnpm' }, {}, 'linux')).toBe('pnpm runs bins through node');
      expect(swapBlocker(pkg, npm, {}, 'win32')).toBe('Windows runs bins through a .cmd shim');
      rmSync(join(root, 'bin', 'ao'));
      expect(swapBlocker(pkg, npm, {}, 'linux')).toBe('the ao bin link is not a plain symlink to bin/ao');
    });
  });
});
