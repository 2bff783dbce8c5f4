import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../../common/paths.js';
import { cachedBinaryPath } from '../../postinstall/locations.js';
import { canRunPinnedNode, pinnedNode } from '../../rehearsal/pinned-node.js';
import { createSandbox, type Sandbox } from '../../rehearsal/sandbox.js';
import {
  alterBinary,
  editKeepingMtime,
  expectShippedCommandsRun,
  isNodeScript,
  mustRun,
  PNPM,
  refusedWithRepair,
  repairCommand,
  runRepair,
  run,
  useReleaseRegistry,
  withNodeShim,
  withPnpmShim,
} from '../postinstall/install-support.js';
import { asUser, canDropPrivileges, NOBODY } from '../support/users.js';

const SPEC = '@aoagents/ao@0.10.0';
const YARN1 = join(REPO_ROOT, 'node_modules', 'yarn1', 'bin', 'yarn.js');
const YARN4 = join(REPO_ROOT, 'node_modules', 'yarn4', 'bin', 'yarn.js');
const BUN = join(REPO_ROOT, 'node_modules', '.bin', 'bun');

/** Stamps the launcher or the postinstall leave once they verified a binary. */
const stamps = (sb: Sandbox) => {
  const dir = join(sb.home, '.cache', 'ao', 'verified');
  return existsSync(dir) ? readdirSync(dir).length : 0;
};

describe('other package managers install a working, verified ao', () => {
  const release = useReleaseRegistry();
  const { sandbox } = release;

  const pnpmSandbox = (name: string) => {
    const pnpmHome = join(createSandbox({ name: `${name}-home` }).root, 'pnpm-home');
    const sb = sandbox(name, [pnpmHome], { PNPM_HOME: pnpmHome });
    return { sb, ao: join(pnpmHome, 'ao') };
  };

  it('pnpm 10 global, build script blocked: the launcher verifies on first run and is never swapped out', async () => {
    const { sb, ao } = pnpmSandbox('pnpm-blocked');
    await mustRun('node', [PNPM, 'add', '-g', SPEC], sb.env);
    expect(stamps(sb)).toBe(0);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    expect(stamps(sb)).toBe(1);
    // pnpm's shim runs `node <bin/ao>`: a native binary there would break every later call.
    const launcher = join((await mustRun('node', [PNPM, 'root', '-g'], sb.env)).stdout.trim(), '@aoagents', 'ao', 'bin', 'ao');
    expect(isNodeScript(launcher)).toBe(true);
    for (let i = 0; i < 3; i++) expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    expect((await run(ao, ['fixture', 'exit', '42'], sb.env)).status).toBe(42);
    expect(isNodeScript(launcher)).toBe(true);
    await expectShippedCommandsRun(dirname(ao), sb.env);
  });

  // pnpm hard-links its store and trusts a store file whose mtime is not newer than its last check: an edit in place
  // with the mtime put back (touch -r) survives `--force`, unless the file's mtime is bumped first.
  it('pnpm 10 global with a binary edited in place, mtime put back: ao names the pnpm command that repairs it, and that command works', async () => {
    const { sb, ao } = pnpmSandbox('pnpm-tampered');
    const env = withPnpmShim(sb);
    await mustRun('pnpm', ['add', '-g', SPEC], env);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    const root = (await mustRun('pnpm', ['root', '-g'], env)).stdout.trim();
    const bin = realpathSync(join(realpathSync(join(root, '@aoagents', 'ao')), '..', 'ao-linux-x64', 'bin', 'ao'));
    editKeepingMtime(bin);
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`touch ${bin} && pnpm add -g ${SPEC} --force`);
    await runRepair(fix, env);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // pnpm's `global-dir` may be any folder: `<global-dir>/<layout version>/.pnpm/...` has no `global` in its path.
  it('pnpm 10 global with its own global-dir and an altered binary: ao knows it as a pnpm global install and names the pnpm command that repairs it', async () => {
    const { sb, ao } = pnpmSandbox('pnpm-global-dir-tampered');
    const env = withPnpmShim(sb);
    mkdirSync(join(sb.home, '.config', 'pnpm'), { recursive: true });
    writeFileSync(join(sb.home, '.config', 'pnpm', 'rc'), `global-dir=${join(sb.root, 'pnpm-packages')}\n`);
    await mustRun('pnpm', ['add', '-g', SPEC], env);
    const root = (await mustRun('pnpm', ['root', '-g'], env)).stdout.trim();
    expect(root.startsWith(join(sb.root, 'pnpm-packages'))).toBe(true);
    const bin = realpathSync(join(realpathSync(join(root, '@aoagents', 'ao')), '..', 'ao-linux-x64', 'bin', 'ao'));
    editKeepingMtime(bin);
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`touch ${bin} && pnpm add -g ${SPEC} --force`);
    await runRepair(fix, env);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  it('pnpm 10 project with a binary edited in place, mtime put back: ao names the pnpm command that repairs it, and that command works', async () => {
    const { sb } = pnpmSandbox('pnpm-project-tampered');
    const env = withPnpmShim(sb);
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}\n');
    await mustRun('pnpm', ['add', SPEC], env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    const rel = 'node_modules/.pnpm/@aoagents+ao-linux-x64@0.10.0/node_modules/@aoagents/ao-linux-x64/bin/ao';
    editKeepingMtime(join(dir, rel));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`touch ${rel} && pnpm install --force (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // pnpm's global virtual store keeps every project's packages in `<store>/v10/links/...`, and a `virtual-store-dir`
  // outside the project (which pnpm suggests for long paths on Windows) in `<dir>/@aoagents+ao@<version>/...`: no project
  // in the path. The latter had been told `npm install` in pnpm's store folder.
  it.each([
    ['enable-global-virtual-store', (_root: string) => 'enable-global-virtual-store=true', '/links/'],
    ['virtual-store-dir outside the project', (root: string) => `virtual-store-dir=${join(root, 'virtual-store')}`, '/virtual-store/'],
  ])(
    'pnpm 10 project with %s and a binary edited in place, mtime put back: ao names the pnpm command that repairs it, and that command works',
    async (name, setting, storeIn) => {
      const { sb } = pnpmSandbox(`pnpm-${name.split(' ')[0]}-tampered`);
      // pnpm turns the global virtual store off in CI (ci-info's isCI, which CI=false overrides): this is a user's machine.
      const env = { ...withPnpmShim(sb), CI: 'false' };
      const dir = join(sb.root, 'project');
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}\n');
      writeFileSync(join(dir, '.npmrc'), `${setting(sb.root)}\n`);
      await mustRun('pnpm', ['add', SPEC], env, { cwd: dir });
      const ao = join(dir, 'node_modules', '.bin', 'ao');
      const bin = realpathSync(join(realpathSync(join(dir, 'node_modules', '@aoagents', 'ao')), '..', 'ao-linux-x64', 'bin', 'ao'));
      expect(bin).toContain(storeIn);
      expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
      editKeepingMtime(bin);
      const fix = await refusedWithRepair(ao, ['--version'], env, { cwd: dir });
      expect(fix).toBe(`touch ${bin} && pnpm install --force`);
      await runRepair(fix, env, dir);
      expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    },
  );

  // With node-linker=hoisted pnpm lays packages out as npm does and answers `install --force` (and `add -g --force`)
  // with "Already up to date", relinking nothing: only a removed folder is linked again from the store.
  it('pnpm 10 project with node-linker=hoisted and a binary edited in place, mtime put back: ao names the pnpm command that repairs it, and that command works', async () => {
    const { sb } = pnpmSandbox('pnpm-hoisted-tampered');
    const env = withPnpmShim(sb);
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}\n');
    writeFileSync(join(dir, '.npmrc'), 'node-linker=hoisted\n');
    await mustRun('pnpm', ['add', SPEC], env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    const rel = 'node_modules/@aoagents/ao-linux-x64/bin/ao';
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    editKeepingMtime(join(dir, rel));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`touch ${rel} && rm -rf node_modules/@aoagents/ao-linux-x64 && pnpm install (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  it('pnpm 10 global with node-linker=hoisted and a binary edited in place, mtime put back: ao names the pnpm command that repairs it, and that command works', async () => {
    const { sb, ao } = pnpmSandbox('pnpm-global-hoisted-tampered');
    const env = withPnpmShim(sb);
    mkdirSync(join(sb.home, '.config', 'pnpm'), { recursive: true });
    writeFileSync(join(sb.home, '.config', 'pnpm', 'rc'), 'node-linker=hoisted\n');
    await mustRun('pnpm', ['add', '-g', SPEC], env);
    const platformDir = join((await mustRun('pnpm', ['root', '-g'], env)).stdout.trim(), '@aoagents', 'ao-linux-x64');
    const bin = join(platformDir, 'bin', 'ao');
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    editKeepingMtime(bin);
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`touch ${bin} && rm -rf ${platformDir} && pnpm add -g ${SPEC}`);
    await runRepair(fix, env);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  it('pnpm 10 global with the build allowed: the postinstall verifies, the shim keeps the launcher', async () => {
    const { sb, ao } = pnpmSandbox('pnpm-allowed');
    await mustRun('node', [PNPM, 'add', '-g', SPEC, '--allow-build=@aoagents/ao'], sb.env);
    expect(stamps(sb)).toBe(1);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  it('yarn 1 global: runs bins through node, so the launcher stays and works', async () => {
    const sb = sandbox('yarn1', [], { YARN_CACHE_FOLDER: '' });
    const prefix = join(sb.root, 'yarn-prefix');
    const yarnEnv = { ...sb.env, YARN_CACHE_FOLDER: join(sb.root, 'yarn-cache'), YARN_GLOBAL_FOLDER: join(sb.root, 'yarn-global') };
    await mustRun('node', [YARN1, 'global', 'add', SPEC, '--prefix', prefix, '--registry', release.registry.url, '--non-interactive'], yarnEnv);
    const ao = join(prefix, 'bin', 'ao');
    expect(isNodeScript(ao)).toBe(true);
    expect(stamps(sb)).toBe(1);
    expect((await mustRun(ao, ['--version'], yarnEnv)).stdout).toBe('ao version 0.10.0\n');
    expect((await run(ao, ['fixture', 'exit', '3'], yarnEnv)).status).toBe(3);
    await expectShippedCommandsRun(dirname(ao), yarnEnv);
  });

  // Root's yarn 1 global install without its platform package (a Dockerfile's `RUN yarn global add ... --ignore-optional`,
  // then `USER node`): the fallback fetch had put the binary in root's own cache, which no other user's ao searches,
  // and every other user was told the package was missing and to reinstall, which fetched it there again.
  it.runIf(canDropPrivileges)("yarn 1 global as root with --ignore-optional: the binary it fetched is found by another user's ao", async () => {
    const sb = sandbox('yarn1-root-no-optional');
    chmodSync(sb.root, 0o755);
    const prefix = join(sb.root, 'yarn-prefix');
    const yarnEnv = { ...sb.env, YARN_CACHE_FOLDER: join(sb.root, 'yarn-cache'), YARN_GLOBAL_FOLDER: join(sb.root, 'yarn-global') };
    const add = ['global', 'add', SPEC, '--ignore-optional', '--prefix', prefix, '--registry', release.registry.url, '--non-interactive'];
    await mustRun('node', [YARN1, ...add], yarnEnv);
    expect(existsSync(join(sb.root, 'yarn-global', 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    const user = { ...yarnEnv, HOME: '/nonexistent', XDG_CACHE_HOME: undefined };
    expect((await mustRun(...asUser(NOBODY, [join(prefix, 'bin', 'ao'), '--version']), user, { cwd: '/' })).stdout).toBe('ao version 0.10.0\n');
  });

  it('yarn 1 global with an altered binary: ao names the yarn command that repairs it, and that command works', async () => {
    const sb = sandbox('yarn1-tampered');
    const prefix = join(sb.root, 'yarn-prefix');
    // `yarn` on PATH is yarn 1, configured the way a user's ~/.yarnrc would, so the printed command runs as typed.
    writeFileSync(join(sb.home, '.yarnrc'), `prefix "${prefix}"\nregistry "${release.registry.url}"\n`);
    const env = withNodeShim(sb, 'yarn', YARN1, {
      ...sb.env,
      PATH: [join(prefix, 'bin'), sb.env.PATH].join(delimiter),
      YARN_CACHE_FOLDER: join(sb.root, 'yarn-cache'),
      YARN_GLOBAL_FOLDER: join(sb.root, 'yarn-global'),
    });
    await mustRun('yarn', ['global', 'add', SPEC, '--non-interactive'], env);
    const ao = join(prefix, 'bin', 'ao');
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    alterBinary(join(sb.root, 'yarn-global', 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`yarn global remove @aoagents/ao && yarn global add ${SPEC}`);
    await runRepair(fix, env);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  /** A yarn 1 project, `yarn` on PATH being yarn 1 and the registry set only in ~/.npmrc (as a mirror user has it). */
  const yarn1Project = (name: string) => {
    const sb = sandbox(name);
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}\n');
    const { npm_config_registry: _, ...env } = sb.env;
    return { sb, dir, env: withNodeShim(sb, 'yarn', YARN1, { ...env, YARN_CACHE_FOLDER: join(sb.root, 'yarn-cache') }) };
  };

  // yarn 1 hands install scripts npm_config_registry=https://registry.yarnpkg.com (its own default) over the user's
  // npmrc, which yarn 1 itself installs from: the fallback fetch must use the registry the install used.
  it('yarn 1 project with --ignore-optional: the postinstall fetches the platform package from the registry in ~/.npmrc, and ao works', async () => {
    const { dir, env } = yarn1Project('yarn1-no-optional');
    const install = await mustRun('yarn', ['add', SPEC, '--ignore-optional', '--verbose'], env, { cwd: dir });
    expect(existsSync(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    expect(install.stdout).not.toContain('cannot download');
    expect((await mustRun(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // Under umask 000 (some containers and shared hosts) the fetch made ao's cache folders writable by everyone, and the
  // launcher then refused the binary there ("writable by other users"), and its private copy in ao's folder as well,
  // which yarn had made writable by everyone too: ao never ran, whatever was reinstalled.
  it('yarn 1 project with --ignore-optional under umask 000: the fetched binary lies in folders only its user may write, and ao works', async () => {
    const { sb, dir, env } = yarn1Project('yarn1-no-optional-umask');
    // As a login made it, before the umask.
    mkdirSync(join(sb.home, '.cache'), { mode: 0o755 });
    await mustRun('sh', ['-c', `umask 000 && exec yarn add ${SPEC} --ignore-optional`], env, { cwd: dir });
    expect(existsSync(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    // Every folder from the fetched binary up to ao's cache, and the binary itself: none writable by group or others.
    const cacheRoot = join(sb.home, '.cache', 'ao');
    const fetched = cachedBinaryPath(release.manifest.binaries['linux-x64']!, cacheRoot);
    const held = [fetched];
    while (held[held.length - 1] !== cacheRoot) held.push(dirname(held[held.length - 1]!));
    expect(held.filter((path) => statSync(path).mode & 0o022)).toEqual([]);
    expect((await mustRun(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // A `sudo npm ...` once left npm's cache root's (npm itself then says "Your cache folder contains root-owned files"):
  // yarn 1 never uses that cache, but the fallback fetch did, and failed with "check the registry and network settings".
  it("yarn 1 project with --ignore-optional and npm's cache not writable (root-owned after a sudo npm): the postinstall fetches anyway, and ao works", async () => {
    const { sb, dir, env } = yarn1Project('yarn1-no-optional-npm-cache');
    const asRoot = process.getuid?.() === 0;
    // Root ignores modes: an immutable folder refuses root too.
    if (asRoot) execFileSync('chattr', ['+i', sb.cache]);
    else chmodSync(sb.cache, 0o555);
    try {
      const install = await mustRun('yarn', ['add', SPEC, '--ignore-optional', '--verbose'], env, { cwd: dir });
      expect(install.stdout + install.stderr).not.toContain('cannot download');
    } finally {
      if (asRoot) execFileSync('chattr', ['-i', sb.cache]);
      else chmodSync(sb.cache, 0o755);
    }
    expect(existsSync(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    expect((await mustRun(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    // The cache of its own is gone with the fetch: nothing of it is left in ao's cache.
    expect(readdirSync(join(sb.home, '.cache', 'ao', 'tmp'))).toEqual([]);
  });

  it('yarn 1 project with --ignore-optional and a failed fallback fetch: ao names the yarn 1 command that brings the binary back, and that command works', async () => {
    const { sb, dir, env } = yarn1Project('yarn1-no-optional-offline');
    // A cache folder the fetch cannot create (its parent is a file) makes the fallback fetch fail.
    const blocker = join(sb.root, 'not-a-folder');
    writeFileSync(blocker, '');
    await mustRun('yarn', ['add', SPEC, '--ignore-optional'], { ...env, AO_CACHE_DIR: join(blocker, 'ao') }, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    const r = await run(ao, ['--version'], env);
    expect(r.status).toBe(1);
    const fix = /fix: in (.*?): (.*)/.exec(r.stderr);
    expect(fix?.slice(1)).toEqual([dir, 'yarn install --force']);
    await mustRun('sh', ['-c', fix![2]!], env, { cwd: dir });
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // yarn 1 copies a package's files from its cache and skips a file whose size and mtime match the cached one, even
  // with --force: an edit in place with the mtime put back (touch -r) survived `yarn install --force`, whose
  // postinstall then failed the install naming that same command again.
  it('yarn 1 project with a binary edited in place, mtime put back: ao names the yarn 1 command that repairs it, and that command works', async () => {
    const { dir, env } = yarn1Project('yarn1-tampered-mtime');
    writeFileSync(join(dir, '.yarnrc'), `registry "${release.registry.url}"\n`);
    await mustRun('yarn', ['add', SPEC], env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    editKeepingMtime(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install --force (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // People mix runners: `npm run` of a script that calls ao, in a project yarn laid out. npm's agent string in the
  // script's environment is not who installed ao, and npm's repair would relayout the project and add a package-lock.json.
  it('yarn 1 project, ao called from a script run by npm, with an altered binary: ao names the yarn 1 command, and that command works', async () => {
    const { dir, env } = yarn1Project('yarn1-npm-run');
    writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true,"scripts":{"check":"ao --version"}}\n');
    writeFileSync(join(dir, '.yarnrc'), `registry "${release.registry.url}"\n`);
    await mustRun('yarn', ['add', SPEC], env, { cwd: dir });
    expect((await mustRun('npm', ['run', '--silent', 'check'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair('npm', ['run', '--silent', 'check'], env, { cwd: dir });
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install --force (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun('npm', ['run', '--silent', 'check'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
    expect(existsSync(join(dir, 'package-lock.json'))).toBe(false);
  });

  // nohoist keeps ao and its platform package in the workspace package's own node_modules; yarn 1's state is at the root.
  it('yarn 1 workspace package with ao nohoisted and an altered binary: ao names the yarn 1 command that repairs it, and that command works', async () => {
    const { dir: root, env } = yarn1Project('yarn1-ws-nohoist');
    writeFileSync(join(root, 'package.json'), '{"name":"root","private":true,"workspaces":{"packages":["packages/*"],"nohoist":["**/@aoagents/**"]}}\n');
    writeFileSync(join(root, '.yarnrc'), `registry "${release.registry.url}"\n`);
    const dir = join(root, 'packages', 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
    await mustRun('yarn', ['add', SPEC], env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect(existsSync(join(root, 'node_modules', '@aoagents', 'ao'))).toBe(false);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install --force (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // `--modules-folder` in .yarnrc: no node_modules anywhere in ao's path, so the project is found by its lockfile.
  it('yarn 1 project with its own modules folder and an altered binary: ao names the yarn 1 command that repairs it, and that command works', async () => {
    const { dir, env } = yarn1Project('yarn1-modules-folder');
    writeFileSync(join(dir, '.yarnrc'), `--modules-folder vendor_modules\nregistry "${release.registry.url}"\n`);
    await mustRun('yarn', ['add', SPEC], env, { cwd: dir });
    const ao = join(dir, 'vendor_modules', '.bin', 'ao');
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    alterBinary(join(dir, 'vendor_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`rm -rf vendor_modules/@aoagents/ao-linux-x64 && yarn install --force (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  /** A yarn 4 project with the given linker, `yarn` on PATH being yarn 4 (so a printed command runs as typed). */
  const yarn4Project = async (name: string, nodeLinker: 'pnp' | 'node-modules' | 'pnpm', workspace?: (dir: string) => string) => {
    const sb = sandbox(name);
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}\n');
    writeFileSync(
      join(dir, '.yarnrc.yml'),
      `nodeLinker: ${nodeLinker}\nnpmRegistryServer: "${release.registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1", "localhost"]\nenableGlobalCache: false\nenableTelemetry: false\nnpmMinimalAgeGate: 0\ncacheFolder: "${join(sb.root, 'yarn4-cache')}"\n`,
    );
    writeFileSync(join(dir, 'yarn.lock'), '');
    const env = withNodeShim(sb, 'yarn', YARN4, { ...sb.env, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false' });
    // With a workspace: ao is added to the workspace package the callback made.
    await mustRun('yarn', ['add', SPEC], env, { cwd: workspace?.(dir) ?? dir });
    return { dir, env };
  };

  it('yarn 4 PnP project: `yarn ao` resolves the unplugged platform package', async () => {
    const { dir, env } = await yarn4Project('yarn4', 'pnp');
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
    expect((await run('yarn', ['ao', 'fixture', 'exit', '3'], env, { cwd: dir })).status).toBe(3);
  });

  // `unplugged: false` in dependenciesMeta overrides the platform package's preferUnplugged: its binary stays inside
  // the zip in Yarn's cache, which PnP's patched fs reads (so it hashed fine) but no kernel can start. Node 22 and 24
  // aborted in process.execve (ENOTDIR, a native stack trace), Node 20 said to check the file is executable.
  it.runIf(canRunPinnedNode)(
    'yarn 4 PnP project that keeps the platform package zipped (unplugged: false): ao says so and names the setting to drop and the yarn install that unplugs it, for this release and the next, which works',
    async () => {
      // ao's own install script allowed (built: true), so yarn unplugs ao and runs it.
      const { dir, env } = await yarn4Project('yarn4-pnp-zipped', 'pnp', (project) => {
        const meta = { '@aoagents/ao-linux-x64': { unplugged: false }, '@aoagents/ao': { built: true } };
        writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'p', private: true, dependenciesMeta: meta })}\n`);
        writeFileSync(join(project, '.yarnrc.yml'), 'enableScripts: true\n', { flag: 'a' });
        return project;
      });
      const unplugged = readdirSync(join(dir, '.yarn', 'unplugged'));
      // `yarn unplug -R` had been the fix: it records the version it unplugs, and the next release was kept packed again.
      const fix = `fix: in ${dir}: remove "unplugged": false from @aoagents/ao-linux-x64 in package.json's dependenciesMeta, then run yarn install\n`;
      expect(unplugged.filter((d) => d.startsWith('@aoagents-ao-linux-x64-'))).toEqual([]);
      for (const node of [20, 22, 24] as const) {
        const r = await run('yarn', ['ao', '--version'], { ...env, PATH: [dirname(await pinnedNode(node)), env.PATH].join(delimiter) }, { cwd: dir });
        expect(r.status, `Node ${node}: ${r.stderr}`).toBe(1);
        expect(r.stderr, `Node ${node}`).toContain("inside a zip archive in Yarn's cache");
        expect(r.stderr, `Node ${node}`).toContain(fix);
        expect(r.stderr, `Node ${node}`).not.toMatch(/Native stack trace|at .*\.cjs/);
      }
      // ao's install script as yarn runs it (its output goes to a build log): under the PnP runtime, in ao's unplugged
      // folder. It had said to run the zipped file's --version to see why that failed.
      const [ao] = unplugged.filter((d) => d.startsWith('@aoagents-ao-npm-'));
      const script = await run(
        'node',
        ['--require', join(dir, '.pnp.cjs'), join(dir, '.yarn', 'unplugged', ao!, 'node_modules', '@aoagents', 'ao', 'lib', 'postinstall.cjs')],
        env,
        {
          cwd: dir,
        },
      );
      expect(script.status).toBe(0);
      expect(script.stderr).toContain(fix);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      delete manifest.dependenciesMeta['@aoagents/ao-linux-x64'].unplugged;
      writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
      await mustRun('yarn', ['install'], env, { cwd: dir });
      expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
      // Nothing left that keeps the next release's platform package packed.
      const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependenciesMeta;
      expect(
        Object.entries(meta).filter(([key, value]) => key.startsWith('@aoagents/ao-linux-x64') && (value as { unplugged?: boolean }).unplugged === false),
      ).toEqual([]);
    },
  );

  /** The sandbox's environment for `yarn dlx` (yarn 4, outside any project) from the test registry. */
  const yarnDlxEnv = (sb: Sandbox): NodeJS.ProcessEnv =>
    withNodeShim(sb, 'yarn', YARN4, {
      ...sb.env,
      YARN_NPM_REGISTRY_SERVER: release.registry.url,
      YARN_UNSAFE_HTTP_WHITELIST: '127.0.0.1',
      YARN_NPM_MINIMAL_AGE_GATE: '0',
      YARN_ENABLE_TELEMETRY: '0',
    });

  // `yarn dlx` installs into a throwaway project (`<tmp>/xfs-<hex>/dlx-<pid>`), removed when the call ends, unplugging
  // the platform package from the zip in Yarn's global cache each time. Each call had left a stamp for a file gone the
  // moment after, and a binary altered in that zip was told a repair to run in the throwaway folder, gone by then.
  // The throwaway project copies the .yarnrc.yml of the folder yarn dlx runs in: under `nodeLinker: node-modules` it
  // was not known as yarn dlx's (a stamp per call, that folder's repair); with install scripts on, the postinstall
  // stamped on every call; and `yarn config get globalFolder` run elsewhere (another yarn, another .yarnrc.yml) named
  // another cache, where the printed `rm -f` matched nothing and exited 0.
  it.each([
    { linker: 'pnp', settings: "Yarn's defaults", scripts: false },
    { linker: 'node-modules', settings: 'install scripts enabled and a globalFolder of its own', scripts: true },
    // A cacheFolder outside the project: yarn dlx unpacks from it, the global cache being only its mirror.
    { linker: 'node-modules', settings: 'an absolute cacheFolder of its own', scripts: false, ownCache: true },
  ])(
    "yarn dlx from a project with nodeLinker: $linker and $settings: ao runs and leaves no stamp per call; a binary altered in Yarn's cache names the command that clears it, and that command works",
    async ({ linker, scripts, ownCache }) => {
      const sb = sandbox(`yarn4-dlx-${linker}`);
      const project = join(sb.root, 'project');
      const globalFolder = scripts ? join(sb.root, 'yarn-global') : join(sb.home, '.local', 'share', 'yarn', 'berry');
      mkdirSync(project);
      writeFileSync(join(project, 'package.json'), '{"name":"p","private":true}\n');
      const ownCacheFolder = join(sb.root, 'project-cache');
      const own = scripts ? `enableScripts: true\nglobalFolder: ${globalFolder}\n` : ownCache ? `cacheFolder: ${ownCacheFolder}\n` : '';
      writeFileSync(join(project, '.yarnrc.yml'), `nodeLinker: ${linker}\n${own}`);
      const env = yarnDlxEnv(sb);
      for (let i = 0; i < 2; i++)
        expect((await mustRun('yarn', ['dlx', '-q', SPEC, '--version'], env, { cwd: project })).stdout).toContain('ao version 0.10.0\n');
      expect(stamps(sb)).toBe(0);
      const mirror = join(globalFolder, 'cache');
      const cache = ownCache ? ownCacheFolder : mirror;
      const [zip] = readdirSync(cache).filter((f) => f.startsWith('@aoagents-ao-linux-x64-'));
      // One byte of the binary's compressed bytes: Yarn's cache keeps no checksum a throwaway project compares against.
      const bytes = readFileSync(join(cache, zip!));
      bytes[bytes.length >> 1]! ^= 0xff;
      writeFileSync(join(cache, zip!), bytes);
      const refused = await run('yarn', ['dlx', '-q', SPEC, '--version'], env, { cwd: project });
      expect(refused.status, refused.stderr).toBe(1);
      // With install scripts on, ao's postinstall refuses it first and fails yarn dlx's install: yarn names its log.
      const log = /logs can be found here: (\S+)\)/.exec(refused.stdout)?.[1];
      const fix = repairCommand(scripts ? readFileSync(log!, 'utf8') : refused.stderr);
      // Outside PnP there is no unplugged folder, whose name carries the locator's hash.
      const prefix = linker === 'pnp' ? zip!.replace(/-[^-]+\.zip$/, '') : '@aoagents-ao-linux-x64-npm-0.10.0';
      expect(fix).toBe(`rm -f ${ownCache ? `${cache}/${prefix}-*.zip ` : ''}${mirror}/${prefix}-*.zip`);
      // Run where a user is, with the yarn there (often yarn 1 outside the project): the path names the cache itself.
      await runRepair(fix, { ...sb.env, PATH: [dirname(YARN1), sb.env.PATH].join(delimiter) }, sb.home);
      expect((await mustRun('yarn', ['dlx', '-q', SPEC, '--version'], env, { cwd: project })).stdout).toContain('ao version 0.10.0\n');
      expect(stamps(sb)).toBe(0);
    },
  );

  // A hardened machine mounts /tmp noexec (CIS benchmarks): yarn dlx unpacks ao into its throwaway project there. The
  // fix had said to check for noexec with `ls -l` of a file yarn removes as the call ends.
  it.runIf(process.platform === 'linux' && process.getuid?.() === 0)(
    'yarn dlx with its temp folder mounted noexec: ao says so and names the TMPDIR that lets yarn dlx run it, which works',
    async () => {
      const sb = sandbox('yarn4-dlx-noexec');
      const env = yarnDlxEnv(sb);
      const tmp = join(sb.root, 'tmp');
      mkdirSync(tmp);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,noexec', 'tmpfs', tmp]);
      try {
        // yarn dlx's project takes the linker from the .yarnrc.yml where it runs: outside PnP it had not been known as yarn dlx's.
        for (const [node, linker] of [
          [20, 'pnp'],
          [22, 'pnp'],
          [22, 'node-modules'],
        ] as const) {
          const nodeEnv = { ...env, TMPDIR: tmp, PATH: [dirname(await pinnedNode(node)), env.PATH].join(delimiter) };
          const project = join(sb.root, `${linker}-${node}`);
          mkdirSync(project);
          writeFileSync(join(project, 'package.json'), '{"name":"p","private":true}\n');
          writeFileSync(join(project, '.yarnrc.yml'), `nodeLinker: ${linker}\n`);
          const r = await run('yarn', ['dlx', '-q', SPEC, 'fixture', 'args', 'a b'], nodeEnv, { cwd: project });
          expect(r.status, `Node ${node}, ${linker}: ${r.stderr}`).toBe(1);
          expect(r.stderr, `Node ${node}, ${linker}`).toContain(`${tmp} does not allow running programs (mounted noexec)`);
          const fix = /fix: (.*)\n/.exec(r.stderr)?.[1];
          expect(fix).toBe(`mkdir -p ~/.cache/tmp && TMPDIR=~/.cache/tmp yarn dlx ${SPEC} fixture args 'a b'`);
          // yarn dlx's own progress lines come first (the user's -q is not ao's to know).
          const ran = (await mustRun('sh', ['-c', fix!], nodeEnv, { cwd: project })).stdout.trim().split('\n').pop()!;
          expect(JSON.parse(ran)).toEqual(['a b']);
        }
      } finally {
        execFileSync('umount', ['-l', tmp]);
      }
    },
  );

  // Yarn 2+ has neither `install --force` nor `--refetch`: the command must be one yarn 4 accepts, in the project.
  it('yarn 4 PnP project with an altered binary: ao names the yarn 4 command that repairs it in the project, and that command works', async () => {
    const { dir, env } = await yarn4Project('yarn4-pnp-tampered', 'pnp');
    const [unplugged] = readdirSync(join(dir, '.yarn', 'unplugged')).filter((d) => d.startsWith('@aoagents-ao-linux-x64-'));
    alterBinary(join(dir, '.yarn', 'unplugged', unplugged!, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair('yarn', ['ao', '--version'], env, { cwd: dir });
    expect(fix).toBe(`rm -rf .yarn/unplugged/${unplugged} && yarn install (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  // pnpUnpluggedFolder puts unplugged packages elsewhere: the fix had removed .yarn/unplugged, which holds nothing then,
  // and the altered binary stayed.
  it('yarn 4 PnP project with its own pnpUnpluggedFolder and an altered binary: ao names the folder that holds it, and the command works', async () => {
    const { dir, env } = await yarn4Project('yarn4-pnp-unplugged-folder-tampered', 'pnp', (project) => {
      writeFileSync(join(project, '.yarnrc.yml'), 'pnpUnpluggedFolder: ./vendor/unplugged\n', { flag: 'a' });
      return project;
    });
    const [unplugged] = readdirSync(join(dir, 'vendor', 'unplugged')).filter((d) => d.startsWith('@aoagents-ao-linux-x64-'));
    alterBinary(join(dir, 'vendor', 'unplugged', unplugged!, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair('yarn', ['ao', '--version'], env, { cwd: dir });
    expect(fix).toBe(`rm -rf vendor/unplugged/${unplugged} && yarn install (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  it('yarn 4 node-modules project with an altered binary: ao names the yarn 4 command that repairs it, and that command works', async () => {
    const { dir, env } = await yarn4Project('yarn4-nm-tampered', 'node-modules');
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // nmHoistingLimits keeps each workspace's packages in its own node_modules; yarn's state file and .yarnrc.yml stay at the root.
  it('yarn 4 workspace package with ao not hoisted and an altered binary: ao names the yarn 4 command that repairs it, and that command works', async () => {
    const { dir: root, env } = await yarn4Project('yarn4-ws-tampered', 'node-modules', (dir) => {
      writeFileSync(join(dir, 'package.json'), '{"name":"root","private":true,"workspaces":["packages/*"]}\n');
      writeFileSync(join(dir, '.yarnrc.yml'), `nmHoistingLimits: workspaces\n`, { flag: 'a' });
      mkdirSync(join(dir, 'packages', 'app'), { recursive: true });
      writeFileSync(join(dir, 'packages', 'app', 'package.json'), '{"name":"app","private":true}\n');
      return join(dir, 'packages', 'app');
    });
    const dir = join(root, 'packages', 'app');
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect(existsSync(join(root, 'node_modules', '@aoagents', 'ao'))).toBe(false);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install (in ${dir})`);
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // Yarn's pnpm linker hard-links every file from a content index in its global folder: an edit in place alters the
  // index entry too, and a reinstall links the altered file again unless that entry goes first.
  it('yarn 4 project with nodeLinker: pnpm and a binary edited in place: ao names the yarn 4 command that repairs it, and that command works', async () => {
    const { dir, env } = await yarn4Project('yarn4-pnpm-linker', 'pnpm');
    expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
    const store = join(dir, 'node_modules', '.store');
    const [folder] = readdirSync(store).filter((d) => d.startsWith('@aoagents-ao-linux-x64-npm-'));
    const bin = join('node_modules', '.store', folder!, 'package', 'bin', 'ao');
    alterBinary(join(dir, bin));
    const fix = await refusedWithRepair('yarn', ['ao', '--version'], env, { cwd: dir });
    expect(fix).toBe(
      `find -H "$(yarn config get globalFolder)" -samefile ${bin} -delete && rm -rf node_modules/.store/${folder}/package && yarn install (in ${dir})`,
    );
    await runRepair(fix, env, dir);
    expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  it('yarn 4 node-modules project with nmMode: hardlinks-global and a binary edited in place: ao names the yarn 4 command that repairs it, and that command works', async () => {
    const { dir, env } = await yarn4Project('yarn4-nm-hardlinks', 'node-modules', (project) => {
      writeFileSync(join(project, '.yarnrc.yml'), 'nmMode: hardlinks-global\n', { flag: 'a' });
      return project;
    });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
    const bin = join('node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
    alterBinary(join(dir, bin));
    const fix = await refusedWithRepair(ao, ['--version'], env);
    expect(fix).toBe(
      `find -H "$(yarn config get globalFolder)" -samefile ${bin} -delete && rm -rf node_modules/@aoagents/ao-linux-x64 && yarn install (in ${dir})`,
    );
    await runRepair(fix, env, dir);
    expect((await mustRun(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // A project whose settings list the platforms to install for (a team on Macs building Linux images): this host's
  // package is never installed, and yarn 4 blocks ao's install script by default, so nothing fetches it. ao had said
  // the node_modules came from another machine and to reinstall, which installs the same platforms again.
  it('yarn 4, pnpm and npm projects whose settings leave this platform out: ao names the file and the setting, and the fix it gives works', async () => {
    const others = '  os: [darwin]\n  cpu: [arm64]\n';
    const { dir, env } = await yarn4Project('yarn4-architectures', 'pnp', (project) => {
      writeFileSync(join(project, '.yarnrc.yml'), `supportedArchitectures:\n${others}`, { flag: 'a' });
      return project;
    });
    const yarnrc = join(dir, '.yarnrc.yml');
    const yarnCall = await run('yarn', ['ao', '--version'], env, { cwd: dir });
    expect(yarnCall.status).toBe(1);
    expect(yarnCall.stderr).toContain(`why: ${yarnrc} sets supportedArchitectures, which leaves out linux-x64`);
    expect(yarnCall.stderr).toContain(`fix: in ${dir}: add current to the os and cpu lists of supportedArchitectures in ${yarnrc}, then run yarn install`);
    writeFileSync(yarnrc, readFileSync(yarnrc, 'utf8').replace('[darwin]', '[darwin, current]').replace('[arm64]', '[arm64, current]'));
    await mustRun('yarn', ['install'], env, { cwd: dir });
    expect((await mustRun('yarn', ['ao', '--version'], env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');

    const { sb } = pnpmSandbox('pnpm-architectures');
    const pnpmEnv = withPnpmShim(sb);
    const pnpmDir = join(sb.root, 'project');
    mkdirSync(pnpmDir);
    writeFileSync(join(pnpmDir, 'package.json'), '{"name":"p","private":true}\n');
    const workspace = join(pnpmDir, 'pnpm-workspace.yaml');
    writeFileSync(workspace, `supportedArchitectures:\n${others}`);
    await mustRun('pnpm', ['add', SPEC], pnpmEnv, { cwd: pnpmDir });
    const pnpmAo = join(pnpmDir, 'node_modules', '.bin', 'ao');
    const pnpmCall = await run(pnpmAo, ['--version'], pnpmEnv);
    expect(pnpmCall.status).toBe(1);
    expect(pnpmCall.stderr).toContain(`why: ${workspace} sets supportedArchitectures, which leaves out linux-x64`);
    expect(pnpmCall.stderr).toContain(
      `fix: in ${pnpmDir}: add current to the os and cpu lists of supportedArchitectures in ${workspace}, then run pnpm install`,
    );
    writeFileSync(workspace, readFileSync(workspace, 'utf8').replace('[darwin]', '[darwin, current]').replace('[arm64]', '[arm64, current]'));
    await mustRun('pnpm', ['install'], pnpmEnv, { cwd: pnpmDir });
    expect((await mustRun(pnpmAo, ['--version'], pnpmEnv)).stdout).toBe('ao version 0.10.0\n');

    const npmSb = sandbox('npm-architectures');
    const npmDir = join(npmSb.root, 'project');
    mkdirSync(npmDir);
    writeFileSync(join(npmDir, 'package.json'), '{"name":"p","private":true}\n');
    const npmrc = join(npmDir, '.npmrc');
    writeFileSync(npmrc, 'os=darwin\ncpu=arm64\n');
    await mustRun('npm', ['install', SPEC, '--ignore-scripts'], npmSb.env, { cwd: npmDir });
    const npmAo = join(npmDir, 'node_modules', '.bin', 'ao');
    const npmCall = await run(npmAo, ['--version'], npmSb.env);
    expect(npmCall.status).toBe(1);
    expect(npmCall.stderr).toContain(`why: ${npmrc} sets os=darwin and cpu=arm64, which leave out linux-x64`);
    expect(npmCall.stderr).toContain(`fix: in ${npmDir}: remove the os and cpu lines from ${npmrc}, then run npm install`);
    writeFileSync(npmrc, '');
    await mustRun('npm', ['install', '--ignore-scripts'], npmSb.env, { cwd: npmDir });
    expect((await mustRun(npmAo, ['--version'], npmSb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // bun hard-links packages from its cache: an edit in place alters the cached copy too, which a reinstall links again.
  it('bun global with a binary altered in place: ao names the bun command that repairs it, cache included, and that command works', async () => {
    const bunInstall = join(sandbox('bun-tampered-dir').root, 'bun');
    const sb = sandbox('bun-tampered', [join(bunInstall, 'bin'), dirname(BUN)], { BUN_INSTALL: bunInstall, BUN_CONFIG_REGISTRY: release.registry.url });
    await mustRun(BUN, ['add', '-g', SPEC], sb.env);
    const ao = join(bunInstall, 'bin', 'ao');
    const bin = join(bunInstall, 'install', 'global', 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
    alterBinary(bin);
    const fix = await refusedWithRepair(ao, ['--version'], sb.env);
    expect(fix).toBe(`bun pm cache rm && bun remove -g @aoagents/ao && bun add -g ${SPEC}`);
    await runRepair(fix, sb.env);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  it('bun project with a binary altered in place: ao names the bun command that repairs it, cache included, and that command works', async () => {
    const bunInstall = join(sandbox('bun-project-dir').root, 'bun');
    const sb = sandbox('bun-project', [dirname(BUN)], { BUN_INSTALL: bunInstall, BUN_CONFIG_REGISTRY: release.registry.url });
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}\n');
    await mustRun(BUN, ['add', SPEC], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], sb.env);
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && bun pm cache rm && bun install --force (in ${dir})`);
    await runRepair(fix, sb.env, dir);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // bun's isolated linker (its default for a new workspace) keeps every package in node_modules/.bun and links it in.
  it('bun workspace with the isolated linker and a binary altered in place: ao names the bun command that repairs it, and that command works', async () => {
    const bunInstall = join(sandbox('bun-ws-dir').root, 'bun');
    const sb = sandbox('bun-ws', [dirname(BUN)], { BUN_INSTALL: bunInstall, BUN_CONFIG_REGISTRY: release.registry.url });
    const root = join(sb.root, 'project');
    const dir = join(root, 'packages', 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, 'package.json'), '{"name":"root","private":true,"workspaces":["packages/*"]}\n');
    writeFileSync(join(root, 'bunfig.toml'), '[install]\nlinker = "isolated"\n');
    writeFileSync(join(dir, 'package.json'), '{"name":"app","private":true}\n');
    await mustRun(BUN, ['add', SPEC], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    const platformDir = realpathSync(join(root, 'node_modules', '.bun', 'node_modules', '@aoagents', 'ao-linux-x64'));
    alterBinary(join(platformDir, 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], sb.env);
    expect(fix).toBe(`rm -rf ${relative(root, platformDir)} && bun pm cache rm && bun install --force (in ${root})`);
    await runRepair(fix, sb.env, root);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // pnpm dlx keeps what it ran in a project of its own under pnpm's cache, blocked build and all: the fix names that folder.
  it("pnpm dlx with a binary edited in place: ao names the pnpm command that repairs it in dlx's folder, and that command works", async () => {
    const { sb } = pnpmSandbox('pnpm-dlx');
    const env = withPnpmShim(sb);
    expect((await mustRun('pnpm', ['dlx', SPEC, '--version'], env)).stdout).toBe('ao version 0.10.0\n');
    const dlx = join(sb.home, '.cache', 'pnpm', 'dlx');
    const bin = readdirSync(dlx, { recursive: true, encoding: 'utf8' }).find((rel) => rel.endsWith(join('ao-linux-x64', 'bin', 'ao')));
    editKeepingMtime(join(dlx, bin!));
    const fix = await refusedWithRepair('pnpm', ['dlx', SPEC, '--version'], env);
    const folder = / \(in (.*)\)$/.exec(fix ?? '')?.[1];
    expect(folder && realpathSync(join(dlx, bin!)).startsWith(`${folder}/node_modules/.pnpm/`)).toBe(true);
    expect(fix).toBe(`touch ${relative(folder!, realpathSync(join(dlx, bin!)))} && pnpm install --force (in ${folder})`);
    await runRepair(fix, env, folder);
    expect((await mustRun('pnpm', ['dlx', SPEC, '--version'], env)).stdout).toBe('ao version 0.10.0\n');
  });

  // bunx keeps what it ran in a folder of its own inside bun's cache, hard-linked from it: a project's fix run there
  // failed (bun refuses to clear a cache holding the folder it runs in) and left ao without its platform package.
  it('bunx with a binary altered in place: ao names the bun command that repairs it, and after it bunx runs ao again', async () => {
    const bunInstall = join(sandbox('bunx-dir').root, 'bun');
    const sb = sandbox('bunx', [dirname(BUN)], { BUN_INSTALL: bunInstall, BUN_CONFIG_REGISTRY: release.registry.url });
    const work = join(sb.root, 'work');
    mkdirSync(work);
    const bunx = join(dirname(BUN), 'bunx');
    expect((await mustRun(bunx, [SPEC, '--version'], sb.env, { cwd: work })).stdout).toBe('ao version 0.10.0\n');
    const cache = join(bunInstall, 'install', 'cache');
    const bin = readdirSync(cache, { recursive: true, encoding: 'utf8' }).find((rel) => /bunx.*ao-linux-x64\/bin\/ao$/.test(rel));
    alterBinary(join(cache, bin!));
    const fix = await refusedWithRepair(bunx, [SPEC, '--version'], sb.env, { cwd: work });
    expect(fix).toBe('bun pm cache rm');
    await runRepair(fix, sb.env, work);
    expect((await mustRun(bunx, [SPEC, '--version'], sb.env, { cwd: work })).stdout).toBe('ao version 0.10.0\n');
  });

  it('bun global, package untrusted: the launcher works and verifies on first run', async () => {
    const bunInstall = join(sandbox('bun-dir').root, 'bun');
    const sb = sandbox('bun', [join(bunInstall, 'bin')], { BUN_INSTALL: bunInstall, BUN_CONFIG_REGISTRY: release.registry.url });
    await mustRun(BUN, ['add', '-g', SPEC], sb.env);
    expect(stamps(sb)).toBe(0);
    const ao = join(bunInstall, 'bin', 'ao');
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    expect(stamps(sb)).toBe(1);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    expect(isNodeScript(join(bunInstall, 'install', 'global', 'node_modules', '@aoagents', 'ao', 'bin', 'ao'))).toBe(true);
    await expectShippedCommandsRun(dirname(ao), sb.env);
  });
});
