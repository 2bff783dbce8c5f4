import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installLayout } from '../../common/install-layout.js';
import { diagnoseMissingBinary, zippedByYarn, type MissingBinaryFacts } from '../../postinstall/diagnose.js';
import { preferredTargets } from '../../postinstall/host.js';
import { npmrcOffline, platformLimit } from '../../postinstall/platform-limit.js';
import { npmLockfile } from '../../postinstall/resolve.js';
import type { AoManifest, BinaryEntry } from '../../common/ao-manifest.js';

const entry = (os: string, cpu: string): BinaryEntry => ({
  package: `@aoagents/ao-${os}-${cpu}`,
  version: '0.10.0',
  os,
  cpu,
  path: os === 'win32' ? 'bin/ao.exe' : 'bin/ao',
  format: os === 'darwin' ? 'macho' : os === 'win32' ? 'pe' : 'elf',
  integrity: 'sha512-AAAA',
  size: 1,
});
const manifest: AoManifest = {
  schema: 1,
  name: '@aoagents/ao',
  version: '0.10.0',
  binaries: Object.fromEntries(
    ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-arm64', 'win32-x64'].map((t) => [t, entry(...(t.split('-') as [string, string]))]),
  ),
};
const facts = (over: Partial<MissingBinaryFacts>): MissingBinaryFacts => ({
  manifest,
  wanted: ['linux-x64'],
  presentTargets: [],
  installer: 'npm',
  global: true,
  ...over,
});

describe('which binary a host wants', () => {
  it('prefers the native arm64 binary for x64 Node under Rosetta, then x64', () => {
    expect(preferredTargets({ platform: 'darwin', arch: 'x64', rosetta: true })).toEqual(['darwin-arm64', 'darwin-x64']);
    expect(preferredTargets({ platform: 'darwin', arch: 'x64', rosetta: false })).toEqual(['darwin-x64']);
    expect(preferredTargets({ platform: 'linux', arch: 'arm64', rosetta: false })).toEqual(['linux-arm64']);
  });
});

describe('diagnosing a missing binary', () => {
  it('an unsupported platform lists the supported ones', () => {
    const e = diagnoseMissingBinary(facts({ wanted: ['freebsd-x64'] }));
    expect(e.code).toBe('EAOUNSUPPORTED');
    expect(e.what).toContain('freebsd-x64');
    expect(e.why).toContain('darwin-arm64, darwin-x64, linux-arm64, linux-x64, win32-arm64, win32-x64');
  });

  // The same node_modules come from `npm install --os=darwin --cpu=arm64` on this machine: "copied into a container"
  // had been said to that user too.
  it('node_modules from macOS in a Linux container: reinstall here, or npm --os/--cpu', () => {
    const e = diagnoseMissingBinary(facts({ presentTargets: ['darwin-arm64'], global: false }));
    expect(e.code).toBe('EAOWRONGPLATFORM');
    expect(e.why).toBe(
      'these node_modules were installed for darwin-arm64, not this machine (by npm install --os/--cpu, or on another machine and copied here: a container, a VM, WSL)',
    );
    expect(e.what).toContain('darwin-arm64');
    expect(e.fix).toContain('rm -rf node_modules && npm install');
    expect(e.fix).toContain('npm install --os=linux --cpu=x64');
  });

  // yarn 1 records neither --ignore-optional nor a failed fallback fetch: a plain `yarn install` says "Already
  // up-to-date" and installs nothing. Yarn 2+ has no --force.
  it('optional dependencies left out in a yarn project: yarn 1 needs --force, Yarn 2+ a plain install', () => {
    expect(diagnoseMissingBinary(facts({ installer: 'yarn', global: false })).fix).toBe('yarn install --force');
    expect(diagnoseMissingBinary(facts({ installer: 'yarn', global: false, yarnBerry: true })).fix).toBe('yarn install');
  });

  // A global folder root owns that this user may not write (`sudo npm i -g`, `sudo yarn global add`): sudoFor's prefix.
  it('a root global install, for a user who may not write it: every command it names runs with sudo', () => {
    expect(diagnoseMissingBinary(facts({ sudo: 'sudo ' })).fix).toBe(
      'sudo npm install -g @aoagents/ao@0.10.0 --include=optional  (or allow its install script: sudo npm rebuild -g @aoagents/ao --ignore-scripts=false)',
    );
    expect(diagnoseMissingBinary(facts({ installer: 'yarn', sudo: 'sudo ' })).fix).toBe('sudo yarn global add @aoagents/ao@0.10.0');
    expect(diagnoseMissingBinary(facts({ presentTargets: ['darwin-arm64'], sudo: 'sudo ' })).fix).toBe(
      'reinstall on this machine: sudo npm install -g @aoagents/ao@0.10.0',
    );
  });

  it('a global install from another platform: reinstall with the same package manager', () => {
    expect(diagnoseMissingBinary(facts({ presentTargets: ['darwin-arm64'], installer: 'pnpm' })).fix).toContain('pnpm add -g @aoagents/ao@0.10.0');
  });

  // ao may be called from anywhere (an editor, an agent, another folder): the repair must say where it runs, and the
  // lockfile's folder is the one (an npm workspace keeps it at the root, above the package's own project).
  it('an npm lockfile holding only another platform (npm/cli#4828) gets the repair command, run in the lockfile folder', () => {
    const e = diagnoseMissingBinary(facts({ global: false, project: '/w/packages/a', lockfile: { folder: '/w', targets: ['darwin-arm64'] } }));
    expect(e.code).toBe('EAOLOCKFILE');
    expect(e.why).toContain('npm/cli#4828');
    expect(e.what).toBe("ao's binary for linux-x64 is missing: /w/package-lock.json lists darwin-arm64 only");
    expect(e.fix).toBe('in /w: rm -rf node_modules && rm -f package-lock.json && npm install  (then commit the new lockfile)');
    expect(diagnoseMissingBinary(facts({ global: false, lockfile: { folder: '/my app', targets: [] } })).fix).toMatch(/^in '\/my app': rm -rf /);
  });

  // cmd.exe has no rm: on Windows the repair had been `rm -rf node_modules package-lock.json && npm install`, which fails.
  it('on Windows the repairs that delete node_modules or the lockfile are commands cmd.exe runs', () => {
    const windows = { wanted: ['win32-x64'], global: false, project: 'C:\\my app' };
    expect(diagnoseMissingBinary(facts({ ...windows, lockfile: { folder: 'C:\\my app', targets: ['darwin-arm64'] } })).fix).toBe(
      'in "C:\\my app": rmdir /s /q node_modules && del /q package-lock.json && npm install  (then commit the new lockfile)',
    );
    expect(diagnoseMissingBinary(facts({ ...windows, presentTargets: ['darwin-arm64'] })).fix).toBe(
      'reinstall in "C:\\my app": rmdir /s /q node_modules && npm install  (or for npm >= 10: npm install --os=win32 --cpu=x64)',
    );
  });

  // ao cannot tell a blocked install script from one whose fetch failed (offline, the registry down): "the install
  // script did not run" had been said after a fetch that ran and failed.
  it('omitted optional deps under npm: --include=optional, or let the script fetch it', () => {
    const e = diagnoseMissingBinary(facts({}));
    expect(e.code).toBe('EAOMISSING');
    expect(e.why).toBe(
      'optional dependencies were left out (--omit=optional, --no-optional or a production-only install), and no install script fetched it (scripts blocked, or its fetch failed: the install printed why)',
    );
    expect(e.fix).toContain('npm install -g @aoagents/ao@0.10.0 --include=optional');
    expect(diagnoseMissingBinary(facts({ global: false, lockfile: { folder: '/p', targets: ['linux-x64', 'darwin-arm64'] } })).fix).toContain(
      'npm install --include=optional',
    );
  });

  // offline=true in an npmrc holds for the commands a fix names too: they failed as the fetch had.
  // Told by the launcher, which reads the npmrc afterwards: the script may as well have been blocked (its fetch would
  // have found the package in npm's cache), so offline is a fact beside the two causes, not the cause.
  it('npm offline by an npmrc: the why says so, and every npm command in the fix goes online', () => {
    const e = diagnoseMissingBinary(facts({ global: false, offline: 'offline=true in /h/.npmrc' }));
    expect(e.why).toMatch(/, and no install script fetched it \(scripts blocked, or its fetch failed: npm is offline, offline=true in \/h\/.npmrc\)$/);
    // The postinstall knows its fetch ran and failed offline.
    expect(diagnoseMissingBinary(facts({ global: false, fetchFailed: true, offline: '--offline, or offline=true in an npmrc' })).why).toMatch(
      /, and npm is offline \(--offline, or offline=true in an npmrc\), so the install script could not fetch it$/,
    );
    expect(e.fix).toBe(
      'npm install --include=optional --offline=false  (or allow its install script: npm rebuild @aoagents/ao --ignore-scripts=false --offline=false)',
    );
    // Under bun, pnpm or yarn the fetch reads npm's offline=true too: their install runs it again, online only by the variable.
    expect(diagnoseMissingBinary(facts({ installer: 'bun', fetchFailed: true, offline: '--offline, or offline=true in an npmrc' })).fix).toBe(
      'npm_config_offline=false bun add -g @aoagents/ao@0.10.0',
    );
    // The postinstall's own fetch failed: its script ran, so none is to be allowed.
    expect(diagnoseMissingBinary(facts({ global: false, fetchFailed: true })).fix).toBe('npm install --include=optional');
  });

  // npx (and pnpm dlx) install into a project of their own: the user's own folder is not where a fix works.
  it('a project install names its folder, so the fix runs where ao is installed, not where ao was called', () => {
    expect(diagnoseMissingBinary(facts({ global: false, project: '/h/.npm/_npx/b675' })).fix).toBe(
      'in /h/.npm/_npx/b675: npm install --include=optional  (or allow its install script: npm rebuild @aoagents/ao --ignore-scripts=false)',
    );
    expect(diagnoseMissingBinary(facts({ global: false, installer: 'yarn', project: '/my app' })).fix).toBe("in '/my app': yarn install --force");
    expect(diagnoseMissingBinary(facts({ presentTargets: ['darwin-arm64'], global: false, project: '/p' })).fix).toMatch(
      /^reinstall in \/p: rm -rf node_modules && npm install /,
    );
  });

  it("pnpm's blocked build and bun's untrusted package name their own approval commands", () => {
    expect(diagnoseMissingBinary(facts({ installer: 'pnpm' })).fix).toContain(
      'pnpm add -g @aoagents/ao --allow-build=@aoagents/ao  or  pnpm approve-builds -g',
    );
    expect(diagnoseMissingBinary(facts({ installer: 'bun' })).fix).toContain('bun pm -g trust @aoagents/ao');
  });

  // Every other fix quotes the folder it names; this one had printed `in /my app: remove ...`.
  it("Yarn PnP keeping the platform package zipped names the project's folder quoted, as every fix does", () => {
    const binary = '/my app/.yarn/cache/ao.zip/node_modules/@aoagents/ao-linux-x64/bin/ao';
    expect(zippedByYarn(binary, manifest.binaries['linux-x64']!, '/my app').fix).toBe(
      `in '/my app': remove "unplugged": false from @aoagents/ao-linux-x64 in package.json's dependenciesMeta, then run yarn install`,
    );
  });

  it('under Rosetta, names the x64 package that x64 npm installs, not the preferred arm64 one', () => {
    const e = diagnoseMissingBinary(facts({ wanted: ['darwin-arm64', 'darwin-x64'], presentTargets: [] }));
    expect(e.what).toContain('@aoagents/ao-darwin-x64@0.10.0');
  });
});

// The diagnosis above tells the user to delete a lockfile and node_modules: only a lockfile that records this very ao
// may lead there. A package-lock.json left in a parent folder (an `npm install` run in ~ by mistake) describes
// another tree.
describe('which package-lock.json describes this ao', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const tree = (files: Record<string, object>): string => {
    const root = mkdtempSync(join(tmpdir(), 'ao-lockfile-'));
    roots.push(root);
    for (const [path, json] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), JSON.stringify(json));
    }
    return root;
  };
  const lock = (...keys: string[]) => ({ lockfileVersion: 3, packages: Object.fromEntries(['', ...keys].map((k) => [k, {}])) });

  it('an npm workspace: the root lockfile that records ao under packages/a, with the platforms it lists', () => {
    const root = tree({ 'w/package-lock.json': lock('packages/a/node_modules/@aoagents/ao', 'node_modules/@aoagents/ao-darwin-arm64') });
    expect(npmLockfile(join(root, 'w/packages/a/node_modules/@aoagents/ao'), manifest)).toEqual({ folder: join(root, 'w'), targets: ['darwin-arm64'] });
  });

  it('a stray lockfile in a parent folder is not the lockfile of a pnpm project below it', () => {
    const root = tree({ 'home/package-lock.json': lock('node_modules/@aoagents/ao', 'node_modules/@aoagents/ao-darwin-arm64') });
    expect(npmLockfile(join(root, 'home/proj/node_modules/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao'), manifest)).toBeUndefined();
  });

  it('nor of an npm project installed without a lockfile (--no-package-lock)', () => {
    const root = tree({ 'home/package-lock.json': lock('node_modules/@aoagents/ao', 'node_modules/@aoagents/ao-darwin-arm64') });
    expect(npmLockfile(join(root, 'home/proj/node_modules/@aoagents/ao'), manifest)).toBeUndefined();
  });
});

describe('telling package managers apart by layout', () => {
  it.each([
    ['/home/u/.local/share/pnpm/global/5/.pnpm/@aoagents+ao@0.10.0/node_modules/@aoagents/ao', undefined, 'pnpm'],
    ['/home/u/.bun/install/global/node_modules/@aoagents/ao', undefined, 'bun'],
    ['/home/u/.config/yarn/global/node_modules/@aoagents/ao', undefined, 'yarn'],
    ['/p/.yarn/unplugged/x/node_modules/@aoagents/ao', '3', 'yarn'],
    ['/usr/local/lib/node_modules/@aoagents/ao', undefined, 'npm'],
  ] as const)('%s is %s', (dir, pnp, want) => {
    expect(installLayout(dir, {}, { env: {}, platform: 'linux', pnp, exists: () => false }).manager).toBe(want);
  });
});

describe('settings that leave this platform out', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const host = { os: 'linux', cpu: 'x64' };
  /** A project in a folder of its own, with `files` written into it; HOME is an empty folder beside it. */
  const project = (files: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), 'ao-platform-limit-'));
    dirs.push(root);
    for (const d of ['project', 'home']) mkdirSync(join(root, d));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'project', name), text);
    return { dir: join(root, 'project'), env: { HOME: join(root, 'home') } };
  };

  it('reads yarn and pnpm YAML lists in block and flow form, and a list with current or this host admits it', () => {
    const limited = [
      'supportedArchitectures:\n  os:\n    - darwin\n  cpu:\n    - arm64\n',
      'supportedArchitectures: { os: [darwin, linux], cpu: [arm64] }\n',
      'nodeLinker: pnp\nsupportedArchitectures:\n  cpu: [arm64] # the Macs\nenableScripts: false\n',
    ];
    for (const text of limited) {
      const { dir, env } = project({ '.yarnrc.yml': text });
      expect(platformLimit('yarn', true, dir, host, env)?.file, text).toBe(join(dir, '.yarnrc.yml'));
    }
    for (const text of [
      'supportedArchitectures:\n  os: [darwin, current]\n  cpu: [arm64, current]\n',
      'supportedArchitectures:\n  os: [linux]\n',
      'nodeLinker: pnp\n',
    ]) {
      const { dir, env } = project({ '.yarnrc.yml': text, 'pnpm-workspace.yaml': text });
      expect(platformLimit('yarn', true, dir, host, env), text).toBeUndefined();
      expect(platformLimit('pnpm', false, dir, host, env), text).toBeUndefined();
    }
    // yarn 1 has no such setting.
    const { dir, env } = project({ '.yarnrc.yml': limited[0]! });
    expect(platformLimit('yarn', false, dir, host, env)).toBeUndefined();
  });

  it("reads pnpm's package.json field and npm's os and cpu, and names them in the message", () => {
    const pnpm = project({ 'package.json': JSON.stringify({ pnpm: { supportedArchitectures: { os: ['darwin'] } } }) });
    expect(platformLimit('pnpm', false, pnpm.dir, host, pnpm.env)?.file).toBe(join(pnpm.dir, 'package.json'));
    const npm = project({ '.npmrc': 'registry=http://x/\nos=darwin\ncpu=x64\n' });
    const limit = platformLimit('npm', false, npm.dir, host, npm.env);
    expect(limit).toEqual({ file: join(npm.dir, '.npmrc'), settings: ['os=darwin'], kind: 'npmrc' });
    const e = diagnoseMissingBinary(facts({ global: false, project: npm.dir, platformLimit: limit }));
    expect(e.why).toBe(
      `${join(npm.dir, '.npmrc')} sets os=darwin, which leaves out linux-x64: npm installs the platform packages of the platforms set there only`,
    );
    expect(e.fix).toBe(`in ${npm.dir}: remove the os line from ${join(npm.dir, '.npmrc')}, then run npm install`);
  });

  // npm's order: the project's npmrc over the user's (npm_config_userconfig when set), the last line of a file over earlier ones.
  it("names the npmrc that makes npm offline as npm reads them, and none where npm's answer is false", () => {
    const { dir, env } = project({ '.npmrc': 'offline=false\n' });
    writeFileSync(join(env.HOME, '.npmrc'), 'offline=true\n');
    expect(npmrcOffline(dir, env)).toBeUndefined();
    expect(npmrcOffline(undefined, env)).toBe(join(env.HOME, '.npmrc'));
    writeFileSync(join(dir, '.npmrc'), 'offline=true\noffline=false\n');
    expect(npmrcOffline(dir, env)).toBeUndefined();
    writeFileSync(join(dir, '.npmrc'), 'registry=http://127.0.0.1:9/\n');
    expect(npmrcOffline(dir, env)).toBe(join(env.HOME, '.npmrc'));
    const userconfig = join(dir, 'elsewhere-npmrc');
    writeFileSync(userconfig, 'offline = true\n');
    writeFileSync(join(env.HOME, '.npmrc'), 'offline=false\n');
    expect(npmrcOffline(dir, { ...env, npm_config_userconfig: userconfig })).toBe(userconfig);
    expect(npmrcOffline(dir, env)).toBeUndefined();
  });
});
