import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  rmSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../common/paths.js';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { checkBinary, writeStamp } from '../../postinstall/verify-binary.js';
import type { EmbeddedRegistry } from '../../release/embedded-registry.js';
import { cachedBinaryPath, integrityHex } from '../../postinstall/locations.js';
import { createSandbox, type Sandbox } from '../../rehearsal/sandbox.js';
import { hostFixtureBinary } from '../../rehearsal/fixture-binaries.js';
import { publishPlain, stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { startEmbeddedRegistry } from '../../release/embedded-registry.js';
import { freePort } from '../../common/free-port.js';
import {
  alterBinary,
  editKeepingMtime,
  expectExactPassThrough,
  expectShippedCommandsRun,
  isElf,
  isNodeScript,
  mustRun,
  repairCommand,
  refusedWithRepair,
  runRepair,
  run,
  SHIPPED_COMMANDS,
  startUntilItWaits,
  useReleaseRegistry,
  WAITS_FOR_INSTALL,
  OTHER_UID,
  withShim,
} from '../postinstall/install-support.js';
import { asUser, canDropPrivileges, NOBODY } from '../support/users.js';

const execFileAsync = promisify(execFile);
const SPEC = '@aoagents/ao@0.10.0';
const globalPkg = (sb: Sandbox) => join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao');
/** A global install, scripts blocked, whose platform package then went missing: the postinstall or launcher must fetch it. */
async function installWithoutPlatformPackage(sb: Sandbox): Promise<void> {
  await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
  rmSync(join(globalPkg(sb), 'node_modules', '@aoagents', 'ao-linux-x64'), { recursive: true });
}
/** A dir the launcher cannot rename into, also for root (which ignores modes): immutable, else mode 0555. */
function makeReadOnly(dir: string): () => void {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', dir]);
    return () => execFileSync('chattr', ['-i', dir]);
  }
  chmodSync(dir, 0o555);
  return () => chmodSync(dir, 0o755);
}
const platformBinary = (sb: Sandbox) => join(globalPkg(sb), 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
const asRoot = process.getuid?.() === 0;
const hasStrace = process.platform === 'linux' && existsSync('/usr/bin/strace');

/** Every file and folder under `dir` that root owns, relative to it. */
function rootOwnedUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => lstatSync(join(dir, rel)).uid === 0)
    .sort();
}

/**
 * Runs ao while "an install" keeps writing into `folder` (an entry made and removed every 100 ms, as a package manager
 * extracting does); once ao says it waits for the install, `finish` completes it. How ao ended and what it printed.
 */
async function callDuringInstall(ao: string, env: NodeJS.ProcessEnv, folder: string, finish: () => void) {
  const writing = join(folder, '.installing');
  const installing = setInterval(() => {
    if (existsSync(writing)) rmSync(writing, { recursive: true });
    else mkdirSync(writing);
  }, 100);
  const run = startUntilItWaits(ao, ['--version'], env);
  await run.waiting;
  clearInterval(installing);
  rmSync(writing, { recursive: true, force: true });
  if (run.out.stderr.includes(WAITS_FOR_INSTALL)) finish();
  return { status: await run.ended, ...run.out };
}

describe('npm global installs from the registry', () => {
  const release = useReleaseRegistry();
  const sandbox = (name: string) => release.sandbox(name);

  it('with defaults, the postinstall verifies the binary and swaps it in for the launcher', async () => {
    const sb = sandbox('npm-default');
    await mustRun('npm', ['install', '-g', SPEC], sb.env);
    const ao = join(sb.binDir, 'ao');
    expect(realpathSync(ao)).toBe(join(globalPkg(sb), 'bin', 'ao'));
    expect(isElf(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    await expectExactPassThrough(ao, sb.env);
  });

  it('the shipped ao-app and ao-legacy-import run through their bin links: --help, usage errors, and a reader that has gone (| head), dismiss where ~/.ao cannot be made', async () => {
    const sb = sandbox('npm-shipped-commands');
    await mustRun('npm', ['install', '-g', SPEC], sb.env);
    await expectShippedCommandsRun(sb.binDir, sb.env);
    for (const [cmd] of SHIPPED_COMMANDS) {
      const bin = join(sb.binDir, cmd);
      // `<cmd> --help | head -n 1`: the reader closed its end before the command wrote.
      const child = spawn(bin, ['--help'], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
      expect(code).toBe(0);
    }
    // A home where ~/.ao cannot be made (read-only, or a file there): dismiss says why and what else silences the notice.
    writeFileSync(join(sb.home, '.ao'), '');
    const dismiss = await run(join(sb.binDir, 'ao-legacy-import'), ['dismiss'], sb.env);
    expect(dismiss.stderr).toContain('ao-legacy-import: cannot record that the legacy-home notice is dismissed');
    expect(dismiss.stderr).toContain('fix: set AO_NO_LEGACY_NOTICE=1');
    expect(dismiss.stderr).not.toMatch(/\n\s+at /);
    expect(dismiss.status).toBe(1);
  });

  // The legacy CLI was first published as @composio/ao, whose `ao` bin npm will not overwrite for another package.
  it('over the legacy CLI installed as @composio/ao: npm refuses with EEXIST, and the command the README gives installs ao', async () => {
    const sb = sandbox('npm-over-composio');
    const legacy = join(sb.root, 'composio-ao');
    mkdirSync(legacy);
    writeFileSync(join(legacy, 'package.json'), '{"name":"@composio/ao","version":"0.1.0","bin":{"ao":"cli.js"}}\n');
    writeFileSync(join(legacy, 'cli.js'), '#!/usr/bin/env node\nconsole.log("legacy ao 0.1.0");\n', { mode: 0o755 });
    const host = release.registry.url.replace(/^https?:/, '');
    await mustRun('npm', ['publish', legacy, `--${host}:_authToken=${release.registry.authToken}`], sb.env);
    await mustRun('npm', ['install', '-g', '@composio/ao'], sb.env);
    const ao = join(sb.binDir, 'ao');
    expect((await mustRun(ao, [], sb.env)).stdout).toBe('legacy ao 0.1.0\n');
    const refused = await run('npm', ['install', '-g', SPEC], sb.env);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('EEXIST');
    await mustRun('sh', ['-c', `npm uninstall -g @composio/ao && npm install -g ${SPEC}`], sb.env);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  it('npm rebuild after the swap keeps the binary and leaves no temp file beside it', async () => {
    const sb = sandbox('npm-rebuild');
    await mustRun('npm', ['install', '-g', SPEC], sb.env);
    await mustRun('npm', ['rebuild', '-g', '@aoagents/ao'], sb.env);
    const ao = join(sb.binDir, 'ao');
    expect(readdirSync(join(globalPkg(sb), 'bin'))).toEqual(['ao']);
    expect(isElf(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  it.runIf(hasStrace)('a postinstall killed between its temp file and the rename: ao works, and npm rebuild leaves no temp file', async () => {
    const sb = sandbox('npm-killed-swap');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const pkg = globalPkg(sb);
    // SIGKILL on entry to the postinstall's second rename: the first puts its stamp in place, the second is the swap's.
    const killed = await run(
      'strace',
      ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename', '-e', 'inject=rename:signal=SIGKILL:when=2', 'node', 'lib/postinstall.cjs'],
      sb.env,
      { cwd: pkg },
    );
    expect(killed.signal).toBe('SIGKILL'); // strace dies as the postinstall did
    expect(readdirSync(join(pkg, 'bin')).filter((f) => f.startsWith('.ao.swap-'))).toHaveLength(1);
    const ao = join(sb.binDir, 'ao');
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    await mustRun('npm', ['rebuild', '-g', '@aoagents/ao'], sb.env);
    expect(readdirSync(join(pkg, 'bin'))).toEqual(['ao']);
    expect(isElf(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // Ctrl-C or a closed laptop during the fallback fetch on a slow network: the fetched package and the copy of its
  // binary stay in ~/.cache/ao (23 MB each with the real binary), one set per interrupted install.
  it.runIf(hasStrace)(
    'a postinstall killed during its fallback fetch: the next one (npm rebuild) removes what it left in the cache, and ao works',
    async () => {
      const sb = sandbox('npm-killed-fetch');
      await installWithoutPlatformPackage(sb);
      // As root a global install fetches into ao's own folder, which every user's launcher searches.
      const cache = asRoot ? join(globalPkg(sb), 'cache') : join(sb.home, '.cache', 'ao');
      // SIGKILL on entry to its first rename: the fetched binary's copy into place.
      const killed = await run(
        'strace',
        ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename', '-e', 'inject=rename:signal=SIGKILL:when=1', 'node', 'lib/postinstall.cjs'],
        { ...sb.env, npm_config_user_agent: 'npm/11 node/v20 linux x64', npm_config_global: 'true' },
        { cwd: globalPkg(sb) },
      );
      expect(killed.signal).toBe('SIGKILL');
      const left = () => readdirSync(cache, { recursive: true, encoding: 'utf8' }).filter((rel) => /(^|\/)\.|^tmp\/./.test(rel));
      expect(left().length).toBeGreaterThan(0);
      await mustRun('npm', ['rebuild', '-g', '@aoagents/ao'], sb.env);
      expect(left()).toEqual([]);
      expect((await mustRun(join(sb.binDir, 'ao'), ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    },
  );

  it('a postinstall whose stderr reader has gone (--foreground-scripts 2>&1 | head) still fetches, swaps and succeeds', async () => {
    const sb = sandbox('npm-postinstall-epipe');
    await installWithoutPlatformPackage(sb);
    // As npm runs it with --foreground-scripts; it has something to say here (the fetch).
    const child = spawn(process.execPath, ['lib/postinstall.cjs'], {
      cwd: globalPkg(sb),
      env: { ...sb.env, npm_config_user_agent: 'npm/11 node/v22 linux x64', npm_config_global: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const ao = join(sb.binDir, 'ao');
    expect(isElf(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // A distribution's Node 18 (Debian 12, Ubuntu 24.04) installs past `engines` with a warning. The launcher cannot run
  // there and says to let npm run the install script, which puts the native binary in its place: so that script must work.
  it('on a Node older than the package asks for (no process.getBuiltinModule), the postinstall still verifies and swaps the binary in, and ao runs', async () => {
    const sb = sandbox('npm-old-node');
    const oldNode = { ...sb.env, NODE_OPTIONS: `--require ${join(REPO_ROOT, 'test', 'postinstall', 'support', 'without-get-builtin-module.cjs')}` };
    const install = await mustRun('npm', ['install', '-g', SPEC, '--foreground-scripts'], oldNode);
    expect(install.stdout + install.stderr).not.toContain('unexpected error');
    expect(isElf(join(globalPkg(sb), 'bin', 'ao'))).toBe(true);
    expect((await mustRun(join(sb.binDir, 'ao'), ['--version'], oldNode)).stdout).toBe('ao version 0.10.0\n');
  });

  it('AO_BINARY_PATH set at install time: the postinstall keeps the launcher, says why, and ao runs the override', async () => {
    const own = await hostFixtureBinary('0.10.0');
    const sb = sandbox('npm-override');
    const install = await mustRun('npm', ['install', '-g', SPEC, '--foreground-scripts'], { ...sb.env, AO_BINARY_PATH: own });
    expect(install.stdout + install.stderr).toContain('ao: keeping the JS launcher: AO_BINARY_PATH is set');
    const ao = join(sb.binDir, 'ao');
    expect(isNodeScript(ao)).toBe(true);
    const r = await run(ao, ['fixture', 'exit', '42'], { ...sb.env, AO_BINARY_PATH: own });
    expect(r.status).toBe(42);
    expect(r.stderr).toBe(`ao: using AO_BINARY_PATH=${own} (not verified)\n`);
  });

  it('with --ignore-scripts, 8 concurrent ao calls started at once on a fresh install all succeed, in 20 trials, and leave no file behind', async () => {
    const sb = sandbox('npm-concurrent');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const binDir = join(globalPkg(sb), 'bin');
    const launcher = readFileSync(join(binDir, 'ao'));
    const failures: string[] = [];
    for (let trial = 0; trial < 20; trial++) {
      // The state right after the install: the launcher in bin/ao, nothing verified yet.
      rmSync(join(binDir, 'ao'));
      writeFileSync(join(binDir, 'ao'), launcher, { mode: 0o755 });
      rmSync(join(sb.home, '.cache', 'ao'), { recursive: true, force: true });
      const calls = await Promise.all(
        Array.from({ length: 8 }, () =>
          execFileAsync(ao, ['--version'], { env: sb.env }).catch((err: { code?: number; stdout?: string; stderr?: string }) => err),
        ),
      );
      for (const c of calls)
        if (c.stdout !== 'ao version 0.10.0\n' || c.stderr)
          failures.push(`trial ${trial}: exit ${(c as { code?: number }).code ?? 0}: ${c.stderr?.split('\n').find((l) => /Error|ao:/.test(l))}`);
      const stray = readdirSync(binDir).filter((f) => f !== 'ao');
      if (stray.length > 0) failures.push(`trial ${trial}: left ${stray.join(', ')}`);
    }
    expect(failures).toEqual([]);
  }, 180_000); // 160 Node start-ups, 8 at a time on 2 cores

  // What an agent meets when it calls ao while `bun add -g` or `npm i -g --ignore-scripts` replaces the install (seen
  // with both): ao's new folder is in place, its platform package not yet, or still the other release's.
  it('ao called while a package manager replaces its install waits for the install to settle, then runs: a platform package not yet there, one of another release, one being written', async () => {
    const sb = sandbox('npm-mid-install');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const platformDir = join(globalPkg(sb), 'node_modules', '@aoagents', 'ao-linux-x64');
    const released = join(sb.root, 'released-platform-package');
    renameSync(platformDir, released);
    // Another release's platform package, as a downgrade leaves it until the manager replaces it.
    const other = join(sb.root, 'other-release-platform-package');
    cpSync(released, other, { recursive: true });
    copyFileSync(await hostFixtureBinary('0.10.1'), join(other, 'bin', 'ao'));
    const pkgJson = join(other, 'package.json');
    writeFileSync(pkgJson, JSON.stringify({ ...JSON.parse(readFileSync(pkgJson, 'utf8')), version: '0.10.1' }));
    // This release's, its binary half written: npm extracts in place.
    const writing = join(sb.root, 'half-written-platform-package');
    cpSync(released, writing, { recursive: true });
    const binary = readFileSync(join(released, 'bin', 'ao'));
    writeFileSync(join(writing, 'bin', 'ao'), binary.subarray(0, binary.length >> 1), { mode: 0o755 });
    for (const [label, before] of [
      ['not yet there', undefined],
      ['of another release', other],
      ['being written', writing],
    ] as const) {
      if (before) cpSync(before, platformDir, { recursive: true });
      const r = await callDuringInstall(ao, sb.env, join(globalPkg(sb), 'node_modules', '@aoagents'), () => {
        rmSync(platformDir, { recursive: true, force: true });
        cpSync(released, platformDir, { recursive: true });
      });
      expect(r.stderr, label).toContain(WAITS_FOR_INSTALL);
      expect(r.stdout, r.stderr).toBe('ao version 0.10.0\n');
      expect(r.status).toBe(0);
      rmSync(platformDir, { recursive: true });
    }
    // Settled, with a file dated in the future (an archive's mtime, a clock that was ahead): missing is missing, at once.
    const future = new Date(Date.now() + 60 * 60_000);
    utimesSync(globalPkg(sb), future, future);
    await sleep(2_500); // the install's quiet time: what utimes itself changed (its ctime) is then settled too
    const settled = await run(ao, ['--version'], sb.env, { timeout: 30_000 });
    expect(settled.stderr).not.toContain('waiting for the install');
    expect(settled.status, settled.stderr).toBe(1);
  });

  it('with --ignore-scripts, the launcher verifies on the first call and stays: npm only swaps in the postinstall', async () => {
    const sb = sandbox('npm-noscripts');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const stamps = join(sb.home, '.cache', 'ao', 'verified');
    expect(existsSync(stamps)).toBe(false);
    const first = await mustRun(ao, ['--version'], sb.env);
    expect(first.stdout).toBe('ao version 0.10.0\n');
    expect(first.stderr).toBe('');
    expect(readdirSync(stamps)).toHaveLength(1);
    expect(isNodeScript(join(globalPkg(sb), 'bin', 'ao'))).toBe(true);
    expect(readdirSync(join(globalPkg(sb), 'bin'))).toEqual(['ao']);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    await expectExactPassThrough(ao, sb.env);
  });

  it('with --ignore-scripts and a read-only package dir, the launcher stays, works, and refuses an altered binary', async () => {
    const sb = sandbox('npm-readonly');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const binDir = join(globalPkg(sb), 'bin');
    const undo = makeReadOnly(binDir);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await mustRun(ao, ['--version'], sb.env);
        expect(r.stdout).toBe('ao version 0.10.0\n');
        expect(r.stderr).toBe('');
      }
      expect(isNodeScript(join(binDir, 'ao'))).toBe(true);
      expect(readdirSync(binDir)).toEqual(['ao']);
      expect((await run(ao, ['fixture', 'exit', '42'], sb.env)).status).toBe(42);

      // Same size, one byte changed: the stamp no longer matches and the hash check refuses it.
      alterBinary(platformBinary(sb));
      const r = await run(ao, ['fixture', 'args', 'ran'], sb.env);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('refusing to run');
      expect(r.stderr).toContain('reinstall');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      undo();
    }

    // The postinstall refuses it too, and fails the rebuild rather than install it.
    const rebuild = await run('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], sb.env);
    expect(rebuild.status).not.toBe(0);
    expect(rebuild.stdout + rebuild.stderr).toContain('refusing @aoagents/ao-linux-x64@0.10.0');
  });

  it('an in-place edit of the verified binary with its mtime put back (touch -r) is refused, not run', async () => {
    const sb = sandbox('npm-touch-r');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const undo = makeReadOnly(join(globalPkg(sb), 'bin'));
    try {
      expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
      editKeepingMtime(platformBinary(sb));
      const r = await run(ao, ['fixture', 'args', 'ran'], sb.env);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('refusing to run');
      expect(r.status).toBe(1);
    } finally {
      undo();
    }
  });

  it.runIf(asRoot)('as root, a stamp in a cache another user owns proves nothing: the altered binary is refused', async () => {
    const sb = sandbox('npm-foreign-stamp');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const ao = join(sb.binDir, 'ao');
    const cache = join(sb.home, '.cache', 'ao');
    const undo = makeReadOnly(join(globalPkg(sb), 'bin'));
    try {
      const bin = platformBinary(sb);
      editKeepingMtime(bin);
      // What that user could write: a stamp matching the altered file as it is now.
      mkdirSync(cache, { recursive: true });
      writeStamp(bin, statSync(bin), release.manifest.binaries['linux-x64']!, cache);
      execFileSync('chown', ['-R', `${OTHER_UID}:${OTHER_UID}`, cache]);
      const r = await run(ao, ['--version'], sb.env);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('refusing to run');
      expect(r.status).toBe(1);
    } finally {
      undo();
    }
  });

  /** This release's binary in `cache` where an install by another user (OTHER_UID, who owns `theirFolder`) leaves it. */
  async function theirCachedBinary(cache: string, theirFolder: string) {
    const entry = release.manifest.binaries['linux-x64']!;
    const theirs = cachedBinaryPath(entry, cache);
    mkdirSync(join(theirs, '..'), { recursive: true });
    copyFileSync(await hostFixtureBinary('0.10.0'), theirs);
    expect(checkBinary(theirs, entry)).toBeUndefined();
    execFileSync('chown', ['-R', `${OTHER_UID}:${OTHER_UID}`, theirFolder]);
    return { entry, theirs };
  }

  it.runIf(asRoot)(
    "as root, with the platform package missing and the cache in another user's home, bin/ao becomes a verified copy root owns, never a link to their file",
    async () => {
      const sb = sandbox('npm-root-cache');
      await installWithoutPlatformPackage(sb);
      // The invoking user's cache (sudo keeps HOME), holding this release's binary as that user's file.
      const userCache = join(sb.root, 'user-home-cache');
      const { entry, theirs } = await theirCachedBinary(join(userCache, 'ao'), userCache);
      const env = { ...sb.env, XDG_CACHE_HOME: userCache };

      // `sudo ao` with scripts blocked: their file is refused, not run.
      const refused = await run(join(sb.binDir, 'ao'), ['--version'], env);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain(`refusing to run ${theirs}`);
      expect(refused.stderr).toContain('run it with sudo -H');
      expect(refused.status).toBe(1);

      // `sudo npm rebuild -g` (the postinstall): the swap copies and checks the copy instead of linking.
      const rebuild = await mustRun('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], env);
      const inPackage = join(globalPkg(sb), 'bin', 'ao');
      expect(isElf(inPackage)).toBe(true);
      const [mine, their] = [statSync(inPackage), statSync(theirs)];
      expect(mine.uid, rebuild.stdout + rebuild.stderr).toBe(0);
      expect(mine.ino).not.toBe(their.ino);
      expect(checkBinary(inPackage, entry)).toBeUndefined();
      expect(readdirSync(join(globalPkg(sb), 'bin'))).toEqual(['ao']);
    },
  );

  /** A sandbox whose HOME belongs to an unprivileged user, who can reach the npm prefix (`sudo npm i -g` keeping HOME). */
  const userHomeSandbox = (name: string) => {
    const sb = sandbox(name);
    chmodSync(sb.root, 0o755);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, sb.home]);
    return sb;
  };
  const mustRunAsNobody = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => mustRun(...asUser(NOBODY, [cmd, ...args]), env, { cwd: '/' });

  it.runIf(canDropPrivileges)(
    "as root with a user's HOME, the fallback fetch and the swap leave nothing root owns in that home; ao works for root and for that user",
    async () => {
      const sb = userHomeSandbox('npm-root-user-home');
      await installWithoutPlatformPackage(sb);
      const rebuild = await mustRun('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], sb.env);
      expect(rebuild.stderr).toContain('ao: verified and installed');
      expect(rootOwnedUnder(sb.home)).toEqual([]);
      const ao = join(sb.binDir, 'ao');
      expect(isElf(ao)).toBe(true);
      expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
      expect((await mustRunAsNobody(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
      expect(rootOwnedUnder(sb.home)).toEqual([]);
    },
  );

  it.runIf(canDropPrivileges)(
    "as root with a user's HOME and the launcher kept, the fetched binary and root's stamps stay out of that home; the launcher finds the binary for root and for that user",
    async () => {
      const sb = userHomeSandbox('npm-root-user-home-launcher');
      await installWithoutPlatformPackage(sb);
      // The documented way to keep the launcher; the platform package is still fetched.
      const own = join(sb.root, 'own-ao');
      writeFileSync(own, '#!/bin/sh\n', { mode: 0o755 });
      await mustRun('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], { ...sb.env, AO_BINARY_PATH: own });
      const ao = join(sb.binDir, 'ao');
      expect(isNodeScript(ao)).toBe(true);
      for (let i = 0; i < 2; i++) expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
      expect(rootOwnedUnder(sb.home)).toEqual([]);
      const user = await mustRunAsNobody(ao, ['--version'], sb.env);
      expect(user.stdout).toBe('ao version 0.10.0\n');
      expect(user.stderr).toBe('');
      // That user's own stamp, in that user's own cache.
      const stamps = join(sb.home, '.cache', 'ao', 'verified');
      expect(readdirSync(stamps).map((f) => statSync(join(stamps, f)).uid)).toEqual([NOBODY]);
      expect(rootOwnedUnder(sb.home)).toEqual([]);
    },
  );

  // A root install with scripts blocked whose files another user may run but not read (a tight mode set by hand or
  // a hardening script; mode 0711 lets the kernel execute a file no one else can read).
  it.runIf(canDropPrivileges)(
    "as a user who may not read the manifest or the binary of root's install, the launcher names the file and the fix, no stack trace",
    async () => {
      const sb = userHomeSandbox('npm-unreadable');
      await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
      const ao = join(sb.binDir, 'ao');
      const asNobody = () => run(...asUser(NOBODY, [ao, '--version']), sb.env, { cwd: '/' });
      for (const [file, mode] of [
        [join(globalPkg(sb), 'ao-manifest.json'), 0o600],
        [platformBinary(sb), 0o711],
      ] as const) {
        const before = statSync(file).mode & 0o777;
        chmodSync(file, mode);
        const r = await asNobody();
        chmodSync(file, before);
        expect(r.stderr, file).toContain(`ao: cannot read ${file}`);
        expect(r.stderr).toContain(`fix: make it readable for this user (as its owner: chmod a+r ${file})`);
        expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
        expect(r.status).toBe(1);
      }
      expect((await asNobody()).stdout).toBe('ao version 0.10.0\n');
    },
  );

  /** An unprivileged user's global install missing its platform package, and a shared cache holding another user's copy of it. */
  async function sharedCacheSandbox(name: string) {
    const sb = sandbox(name);
    await installWithoutPlatformPackage(sb);
    // A cache every user may write (mode 0777, no sticky bit), where another user's install left this release's binary.
    const shared = join(sb.root, 'shared-cache');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const { entry, theirs } = await theirCachedBinary(shared, join(shared, 'bin'));
    // The installing user owns their npm prefix, HOME and npm cache.
    chmodSync(sb.root, 0o755);
    for (const dir of [sb.prefix, sb.home, sb.cache]) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
    return { sb, shared, entry, theirs };
  }

  it.runIf(canDropPrivileges)(
    "as a user whose AO_CACHE_DIR is shared and world-writable, holding another user's binary, the postinstall runs and swaps in a private copy: ao is that user's own file, linked to nothing in the cache, unchanged by a later edit there",
    async () => {
      const { sb, shared, entry, theirs } = await sharedCacheSandbox('npm-shared-cache');
      const env = { ...sb.env, AO_CACHE_DIR: shared };
      const ao = join(sb.binDir, 'ao');
      const inPackage = join(globalPkg(sb), 'bin', 'ao');
      // The other user holds their file open for writing, free to change it at any moment. The kernel refuses to
      // execute a file open for writing (ETXTBSY), so an install that ran their file, or an ao that is their file, fails here.
      const writer = openSync(theirs, 'r+');
      try {
        const rebuild = await mustRunAsNobody('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], env);
        expect(isElf(inPackage), rebuild.stdout + rebuild.stderr).toBe(true);
        // It says what it installed: its own copy, not the file in the shared cache.
        expect(rebuild.stdout + rebuild.stderr).toContain(`ao: verified and installed a private copy of ${theirs} (`);
        const mine = statSync(inPackage);
        expect(mine.uid).toBe(NOBODY);
        const sameFile = readdirSync(shared, { recursive: true, encoding: 'utf8' }).filter((rel) => {
          const other = lstatSync(join(shared, rel));
          return other.dev === mine.dev && other.ino === mine.ino;
        });
        expect(sameFile).toEqual([]);
        expect((await mustRunAsNobody(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');

        // The other user rewrites their file in place: what ao runs is still the release.
        writeSync(writer, Buffer.from('#!/bin/sh\necho tampered\n'), 0, undefined, 0);
        expect(checkBinary(theirs, entry)).toBeDefined();
        expect((await mustRunAsNobody(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
        expect(checkBinary(inPackage, entry)).toBeUndefined();
        expect(readdirSync(join(globalPkg(sb), 'bin'))).toEqual(['ao']);
      } finally {
        closeSync(writer);
      }
    },
  );

  // pnpm, yarn and bun always keep the launcher; under npm, AO_BINARY_PATH at install time does.
  it.runIf(canDropPrivileges)(
    "as a user whose AO_CACHE_DIR is shared, holding another user's binary, with the launcher kept: the postinstall keeps its verified private copy in the package, and ao runs it, never their file",
    async () => {
      const { sb, shared, theirs } = await sharedCacheSandbox('npm-shared-cache-launcher');
      const env = { ...sb.env, AO_CACHE_DIR: shared };
      const own = join(sb.root, 'own-ao');
      writeFileSync(own, '#!/bin/sh\n', { mode: 0o755 });
      await mustRunAsNobody('npm', ['rebuild', '-g', '@aoagents/ao', '--foreground-scripts'], { ...env, AO_BINARY_PATH: own });
      const ao = join(sb.binDir, 'ao');
      expect(isNodeScript(ao)).toBe(true);
      // Their file is open for writing: the kernel refuses to run it (ETXTBSY), so an ao that ran it fails here.
      const writer = openSync(theirs, 'r+');
      try {
        const r = await run(...asUser(NOBODY, [ao, '--version']), env, { cwd: '/' });
        expect(r.stdout, r.stderr).toBe('ao version 0.10.0\n');
        expect(r.status).toBe(0);
      } finally {
        closeSync(writer);
      }
    },
  );

  // npm 11 ignores --omit=optional for global installs, so the omitted case is a project install.
  const project = (sb: Sandbox, name = 'project') => {
    const dir = join(sb.root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
    return dir;
  };
  /** A project `name` holding only the package.json and lockfile of ao installed with --omit=optional: npm's cache lacks the platform package. */
  const lockedWithoutPlatformPackage = async (sb: Sandbox, name: string) => {
    const warm = project(sb);
    await mustRun('npm', ['install', SPEC, '--omit=optional', '--ignore-scripts', '--prefix', warm], sb.env, { cwd: warm });
    const dir = join(sb.root, name);
    mkdirSync(dir);
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(warm, file), join(dir, file));
    return dir;
  };

  it('with --omit=optional, the postinstall fetches the platform package through npm config and ao works', async () => {
    const sb = sandbox('npm-omit');
    const dir = project(sb);
    await mustRun('npm', ['install', SPEC, '--omit=optional', '--prefix', dir], sb.env, { cwd: dir });
    expect(existsSync(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    const cached = cachedBinaryPath(release.manifest.binaries['linux-x64']!, join(sb.home, '.cache', 'ao'));
    expect(cached).toContain(integrityHex(release.manifest.binaries['linux-x64']!.integrity).slice(0, 32));
    expect(isElf(cached)).toBe(true);
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect(isElf(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');

    // Two postinstalls at once (say, two projects installing together) each fetch and swap; neither corrupts the other.
    rmSync(join(sb.home, '.cache', 'ao'), { recursive: true, force: true });
    const pkgDir = join(dir, 'node_modules', '@aoagents', 'ao');
    const env = { ...sb.env, npm_config_user_agent: 'npm/11 node/v20 linux x64', INIT_CWD: dir };
    const both = await Promise.all([1, 2].map(() => execFileAsync(process.execPath, ['lib/postinstall.cjs'], { cwd: pkgDir, env })));
    expect(both.map((r) => r.stderr).join('')).toContain('verified and installed');
    expect(checkBinary(cached, release.manifest.binaries['linux-x64']!)).toBeUndefined();
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    expect(readdirSync(join(sb.home, '.cache', 'ao', 'tmp'))).toEqual([]);
  });

  // A CI runner or a laptop without the registry: npm installs from its cache, and so must the fallback fetch. The
  // usual CI cache is one `npm ci` filled from a lockfile made elsewhere: tarballs by integrity, no packument. The
  // fetch asked the registry's packument for them, and failed with the platform package's tarball in that very cache
  // ("its cache does not hold"); with the registry down it failed the same way.
  it('with --omit=optional, offline or with the registry down, the postinstall takes the platform package from the cache `npm ci` filled, as npm does, and ao works', async () => {
    const sb = sandbox('npm-omit-offline');
    const made = project(sb, 'lockfile-made');
    const otherCacheEnv = { ...sb.env, npm_config_cache: join(sb.root, 'other-cache') };
    await mustRun('npm', ['install', SPEC, '--ignore-scripts', '--prefix', made], otherCacheEnv, { cwd: made });
    const copyProject = (name: string) => {
      const dir = join(sb.root, name);
      mkdirSync(dir);
      for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(made, file), join(dir, file));
      return dir;
    };
    await mustRun('npm', ['ci', '--ignore-scripts'], sb.env, { cwd: copyProject('ci-filled') });
    const offline = copyProject('offline');
    const r = await mustRun('npm', ['ci', '--omit=optional', '--offline', '--foreground-scripts'], sb.env, { cwd: offline });
    expect(existsSync(join(offline, 'node_modules', '@aoagents', 'ao-linux-x64'))).toBe(false);
    expect(r.stderr).toContain('ao: verified and installed');
    expect((await mustRun(join(offline, 'node_modules', '.bin', 'ao'), ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');

    // The registry down: the lockfile's tarball URLs and the configured registry answer nothing.
    rmSync(join(sb.home, '.cache', 'ao'), { recursive: true, force: true });
    const down = copyProject('registry-down');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const lock = join(down, 'package-lock.json');
    writeFileSync(lock, readFileSync(lock, 'utf8').replaceAll(new URL(release.registry.url).origin, dead));
    const downEnv = { ...sb.env, npm_config_registry: `${dead}/`, npm_config_fetch_retries: '0' };
    const d = await mustRun('npm', ['ci', '--omit=optional', '--foreground-scripts'], downEnv, { cwd: down });
    expect(d.stderr).toContain('ao: verified and installed');
    expect((await mustRun(join(down, 'node_modules', '.bin', 'ao'), ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');

    // No lockfile yet (npm writes it after the scripts ran): the full packument, which an `npm install` cached, answers.
    rmSync(join(sb.home, '.cache', 'ao'), { recursive: true, force: true });
    const first = project(sb, 'no-lockfile');
    const f = await mustRun('npm', ['install', SPEC, '--omit=optional', '--offline', '--foreground-scripts'], otherCacheEnv, { cwd: first });
    expect(f.stderr).toContain('ao: verified and installed');
    expect((await mustRun(join(first, 'node_modules', '.bin', 'ao'), ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // An air-gapped project keeps the platform package's tarball beside it (`overrides` to `file:vendor/...`): the
  // lockfile's `resolved` is relative to the lockfile's folder, and the fetch had looked for it in ao's own folder
  // (ENOENT, "check the registry and network settings").
  it('with --omit=optional and a lockfile naming a file: tarball in the project, the postinstall installs that tarball', async () => {
    const sb = sandbox('npm-omit-file-tarball');
    const dir = project(sb);
    mkdirSync(join(dir, 'vendor'));
    const packed = (
      await mustRun('npm', ['pack', '@aoagents/ao-linux-x64@0.10.0', '--pack-destination', join(dir, 'vendor')], sb.env, { cwd: dir })
    ).stdout.trim();
    const manifest = { name: 'p', version: '1.0.0', private: true, overrides: { '@aoagents/ao-linux-x64': `file:vendor/${packed}` } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    await mustRun('npm', ['install', SPEC, '--ignore-scripts'], sb.env, { cwd: dir });
    expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toContain(`"resolved": "file:vendor/${packed}"`);
    rmSync(join(dir, 'node_modules'), { recursive: true });
    // Another machine's empty npm cache: only the file holds the package.
    const freshCache = { ...sb.env, npm_config_cache: join(sb.root, 'fresh-cache') };
    const r = await mustRun('npm', ['ci', '--omit=optional', '--foreground-scripts'], freshCache, { cwd: dir });
    expect(r.stderr).toContain('ao: verified and installed');
    expect((await mustRun(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // Offline with a cache that never held the platform package: not a registry or network setting to check.
  it("with --omit=optional and --offline, a platform package not in npm's cache is told as offline, with the command to run online", async () => {
    const sb = sandbox('npm-omit-offline-uncached');
    const dir = await lockedWithoutPlatformPackage(sb, 'offline');
    const r = await mustRun('npm', ['ci', '--omit=optional', '--offline', '--foreground-scripts'], sb.env, { cwd: dir });
    expect(r.stderr).toContain('why: npm is offline (--offline, or offline=true in an npmrc), and its cache does not hold @aoagents/ao-linux-x64@0.10.0');
    expect(r.stderr).not.toContain('check the registry and network settings');
    expect(r.stderr).toContain(`To fix: in ${dir}: npm install --include=optional`);
    await mustRun('sh', ['-c', 'npm install --include=optional'], sb.env, { cwd: dir });
    expect((await mustRun(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // offline=true in the user's npmrc (a laptop set up for trains): the command printed had been `npm install
  // --include=optional`, which runs offline too and fails the same way; and the why said the install script did not run.
  it("with offline=true in the user's npmrc and --omit=optional, the postinstall's fetch failing offline prints a command that installs online", async () => {
    const sb = sandbox('npm-omit-offline-npmrc');
    const dir = await lockedWithoutPlatformPackage(sb, 'offline-npmrc');
    writeFileSync(sb.npmrc, `${readFileSync(sb.npmrc, 'utf8')}offline=true\n`);
    const r = await mustRun('npm', ['ci', '--omit=optional', '--foreground-scripts'], sb.env, { cwd: dir });
    expect(r.stderr).toContain('why: npm is offline (--offline, or offline=true in an npmrc), and its cache does not hold @aoagents/ao-linux-x64@0.10.0');
    expect(r.stderr).not.toContain('did not run');
    expect(r.stderr).toContain(`To fix: in ${dir}: npm install --include=optional --offline=false`);
    // ao, called afterwards, cannot tell a blocked script from this one: npm offline by that npmrc is said beside both.
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    const called = await run(ao, ['--version'], sb.env);
    expect(called.stderr).toContain(`no install script fetched it (scripts blocked, or its fetch failed: npm is offline, offline=true in ${sb.npmrc})`);
    const rebuild = 'npm rebuild @aoagents/ao --ignore-scripts=false --offline=false';
    expect(called.stderr).toContain(`fix: in ${dir}: npm install --include=optional --offline=false  (or allow its install script: ${rebuild})`);
    // Each command printed works as typed: the second, whose script sees --offline=false as npm exports it to scripts
    // (empty) while npm's cache still lacks the package; then, the same install made again, the first.
    await mustRun('sh', ['-c', rebuild], sb.env, { cwd: dir });
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    rmSync(join(sb.env.XDG_CACHE_HOME!, 'ao'), { recursive: true }); // the binary that rebuild fetched
    await mustRun('npm', ['ci', '--omit=optional', '--ignore-scripts'], sb.env, { cwd: dir });
    expect((await run(ao, ['--version'], sb.env)).status).toBe(1);
    await mustRun('sh', ['-c', 'npm install --include=optional --offline=false'], sb.env, { cwd: dir });
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  // A service or CI user whose HOME is /nonexistent, /, or a folder it may not write (OpenShift's arbitrary uids).
  it.runIf(canDropPrivileges)(
    "as a user whose HOME cannot be written, with --omit=optional, the fallback fetch and the launcher's stamps go into the package's own folder: ao works and verifies once",
    async () => {
      const sb = sandbox('npm-home-unwritable');
      chmodSync(sb.root, 0o755);
      const dir = project(sb);
      for (const d of [dir, sb.cache]) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, d]);
      const { XDG_CACHE_HOME: _, ...rest } = sb.env;
      const env = { ...rest, HOME: '/nonexistent' };
      // The documented way to keep the launcher, so the fetched binary is what it runs.
      const own = join(sb.root, 'own-ao');
      writeFileSync(own, '#!/bin/sh\n', { mode: 0o755 });
      const install = await mustRunAsNobody('npm', ['install', SPEC, '--omit=optional', '--foreground-scripts', '--prefix', dir], {
        ...env,
        AO_BINARY_PATH: own,
      });
      expect(install.stdout + install.stderr).toContain('ao: verified and installed');
      const ao = join(dir, 'node_modules', '.bin', 'ao');
      expect(isNodeScript(ao)).toBe(true);
      for (let i = 0; i < 2; i++) expect((await mustRunAsNobody(ao, ['--version'], env)).stdout).toBe('ao version 0.10.0\n');
      const stamps = join(dir, 'node_modules', '@aoagents', 'ao', 'cache', 'verified');
      expect(readdirSync(stamps).map((f) => statSync(join(stamps, f)).uid)).toEqual([NOBODY]);
    },
  );

  it('a global install with an altered binary names the command that repairs it, and that command works', async () => {
    const sb = sandbox('npm-global-tampered');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    const bin = platformBinary(sb);
    alterBinary(bin);
    const ao = join(sb.binDir, 'ao');
    const fix = await refusedWithRepair(ao, ['--version'], sb.env);
    expect(fix).toBe(`npm uninstall -g @aoagents/ao && npm install -g ${SPEC}`);
    await runRepair(fix, sb.env);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
  });

  /** `sb.env` with a `sudo` on PATH that only runs its command: these tests run as root already. */
  const withSudo = (sb: Sandbox) => withShim(sb, 'sudo', 'exec "$@"');

  // `sudo npm i -g` (a distro's Node keeps its global folder root's) with scripts blocked: a user's `ao` refusing an
  // altered binary named `npm uninstall -g ...`, which that user cannot run there (EACCES).
  it.runIf(canDropPrivileges)(
    'a root global install with an altered binary, called by a user who may not write it: ao names the command with sudo, and that command works',
    async () => {
      const sb = userHomeSandbox('npm-root-global-tampered');
      await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
      alterBinary(platformBinary(sb));
      const ao = join(sb.binDir, 'ao');
      const fix = await refusedWithRepair(...asUser(NOBODY, [ao, '--version']), sb.env, { cwd: '/' });
      expect(fix).toBe(`sudo npm uninstall -g @aoagents/ao && sudo npm install -g ${SPEC}`);
      await runRepair(fix, withSudo(sb));
      expect((await mustRunAsNobody(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    },
  );

  it.runIf(canDropPrivileges)(
    'a root global install without its platform package, called by a user who may not write it: ao names the commands with sudo, and the first works',
    async () => {
      const sb = userHomeSandbox('npm-root-global-missing');
      await installWithoutPlatformPackage(sb);
      const ao = join(sb.binDir, 'ao');
      const r = await run(...asUser(NOBODY, [ao, '--version']), sb.env, { cwd: '/' });
      expect(r.status).toBe(1);
      const fix = /fix: (.*?) {2}\(or allow its install script: (.*)\)/.exec(r.stderr);
      expect(fix?.slice(1)).toEqual([`sudo npm install -g ${SPEC} --include=optional`, 'sudo npm rebuild -g @aoagents/ao --ignore-scripts=false']);
      await runRepair(fix![1], withSudo(sb));
      expect((await mustRunAsNobody(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    },
  );

  it('a project install with an altered binary names the command that repairs a project, and that command works', async () => {
    const sb = sandbox('npm-local-tampered');
    const dir = project(sb);
    await mustRun('npm', ['install', SPEC, '--ignore-scripts'], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    const bin = join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
    alterBinary(bin);
    const fix = await refusedWithRepair(ao, ['--version'], sb.env, { cwd: dir });
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && npm install (in ${realpathSync(dir)})`);
    await runRepair(fix, sb.env, dir);
    expect((await mustRun(ao, ['--version'], sb.env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  // npm's global folder is `<prefix>/lib/node_modules`; a project whose own folder is named lib has the same shape.
  it('a project in a folder named lib is a project, not a global install: an altered binary names the project command, and that command works', async () => {
    const sb = sandbox('npm-lib-project');
    const dir = project(sb, 'lib');
    await mustRun('npm', ['install', SPEC, '--ignore-scripts'], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], sb.env, { cwd: dir });
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && npm install (in ${realpathSync(dir)})`);
    await runRepair(fix, sb.env, dir);
    expect((await mustRun(ao, ['--version'], sb.env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  // Repositories often commit a yarn.lock beside package-lock.json; whoever laid out node_modules says so in it.
  it('an npm project beside a yarn.lock it does not use: an altered binary names the npm command, and that command works', async () => {
    const sb = sandbox('npm-stray-yarn-lock');
    const dir = project(sb);
    writeFileSync(join(dir, 'yarn.lock'), '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n');
    await mustRun('npm', ['install', SPEC, '--ignore-scripts'], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    alterBinary(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const fix = await refusedWithRepair(ao, ['--version'], sb.env, { cwd: dir });
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && npm install (in ${realpathSync(dir)})`);
    await runRepair(fix, sb.env, dir);
    expect((await mustRun(ao, ['--version'], sb.env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  // npm/cli#4828: a lockfile written on one platform may list only that platform's package, and `npm ci` on another
  // installs none. ao is called from anywhere (an editor, an agent, another folder): the repair names where it runs.
  it("a package-lock.json listing another platform only: ao, called from another folder, names the lockfile's folder, and the command run there works", async () => {
    const sb = sandbox('npm-lockfile-4828');
    const dir = realpathSync(project(sb));
    const elsewhere = project(sb, 'elsewhere');
    await mustRun('npm', ['install', SPEC, '--ignore-scripts'], sb.env, { cwd: dir });
    const lockPath = join(dir, 'package-lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, unknown> };
    for (const key of Object.keys(lock.packages)) if (/node_modules\/@aoagents\/ao-(?!darwin-arm64$)[^/]+$/.test(key)) delete lock.packages[key];
    writeFileSync(lockPath, JSON.stringify(lock, null, 2));
    // What `npm ci` from that lockfile left on an older npm (a current one refuses the out-of-sync lockfile).
    rmSync(join(dir, 'node_modules', '@aoagents', 'ao-linux-x64'), { recursive: true });
    const r = await run(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], sb.env, { cwd: elsewhere });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${lockPath} lists darwin-arm64 only`);
    const fix = /fix: in ([^:]+): (.*?) {2}\(then commit the new lockfile\)/.exec(r.stderr);
    expect(fix?.[1]).toBe(dir);
    expect(fix?.[2]).toBe('rm -rf node_modules && rm -f package-lock.json && npm install');
    await mustRun('sh', ['-c', fix![2]!], sb.env, { cwd: dir });
    expect((await mustRun(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], sb.env, { cwd: elsewhere })).stdout).toBe('ao version 0.10.0\n');
    expect(readdirSync(elsewhere)).toEqual(['package.json']);
  });

  it('a failed fallback fetch never prints the credentials of the registry URL, and one that cannot write its cache says so, not to check the network', async () => {
    const sb = sandbox('npm-redact');
    const dir = project(sb);
    await mustRun('npm', ['install', SPEC, '--omit=optional', '--ignore-scripts'], sb.env, { cwd: dir });
    // Without it the fetch asks the configured registry; with it, the tarball URL it records, as `npm ci` does.
    rmSync(join(dir, 'package-lock.json'));
    const pkgDir = join(dir, 'node_modules', '@aoagents', 'ao');
    // Registries with credentials in their URL that refuse connections (port 9 on loopback: discard, nothing
    // listens): a password, a token as the user name (as git hosts take them), a token in the query.
    for (const registry of ['http://aouser:s3cr3t-t0ken@127.0.0.1:9/', 'http://s3cr3t-t0ken@127.0.0.1:9/', 'http://127.0.0.1:9/npm/?token=s3cr3t-t0ken']) {
      const env = {
        ...sb.env,
        npm_config_user_agent: 'npm/11 node/v20 linux x64',
        INIT_CWD: dir,
        npm_config_registry: registry,
        npm_config_fetch_retries: '0',
      };
      const r = await run(process.execPath, ['lib/postinstall.cjs'], env, { cwd: pkgDir });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('ao: cannot');
      expect(r.stderr).toContain('127.0.0.1:9');
      expect(r.stderr, registry).not.toContain('s3cr3t-t0ken');
    }
    // Neither the user's cache nor the package's own folder can take the binary (a file in the way of each, read-only in the package).
    const blocker = join(sb.root, 'a-file');
    writeFileSync(blocker, '');
    writeFileSync(join(pkgDir, 'cache'), '', { mode: 0o444 });
    const env = { ...sb.env, npm_config_user_agent: 'npm/11 node/v20 linux x64', INIT_CWD: dir, AO_CACHE_DIR: join(blocker, 'ao') };
    const r = await run(process.execPath, ['lib/postinstall.cjs'], env, { cwd: pkgDir });
    expect(r.stderr).toContain(`ao: cannot install @aoagents/ao-linux-x64@0.10.0 into ${join(blocker, 'ao')}`);
    expect(r.stderr).toContain('ENOTDIR');
    expect(r.stderr).toContain('or set AO_CACHE_DIR to a folder');
    expect(r.stderr).not.toContain('network');
    expect(r.status).toBe(0);
  });

  // ignore-scripts=true in ~/.npmrc (as supply-chain advice has it) blocks `npm rebuild` too, not only installs.
  it('with ignore-scripts=true in ~/.npmrc and optional dependencies omitted, the install-script command ao names runs the script, and ao works', async () => {
    const sb = sandbox('npm-npmrc-ignore-scripts');
    writeFileSync(sb.npmrc, `${readFileSync(sb.npmrc, 'utf8')}ignore-scripts=true\n`);
    const dir = project(sb);
    await mustRun('npm', ['install', SPEC, '--omit=optional'], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    const r = await run(ao, ['--version'], sb.env, { cwd: dir });
    expect(r.status).toBe(1);
    const fix = /allow its install script: (.*)\)$/m.exec(r.stderr)?.[1];
    expect(fix).toBe('npm rebuild @aoagents/ao --ignore-scripts=false');
    await runRepair(fix, sb.env, dir);
    expect((await mustRun(ao, ['--version'], sb.env, { cwd: dir })).stdout).toBe('ao version 0.10.0\n');
  });

  it("npx with ignore-scripts=true in ~/.npmrc and an altered binary: ao names the npm command in npx's folder, and that command works", async () => {
    const sb = sandbox('npm-npx-tampered');
    writeFileSync(sb.npmrc, `${readFileSync(sb.npmrc, 'utf8')}ignore-scripts=true\n`);
    const elsewhere = project(sb, 'elsewhere');
    expect((await mustRun('npx', ['--yes', SPEC, '--version'], sb.env, { cwd: elsewhere })).stdout).toBe('ao version 0.10.0\n');
    const [npxDir] = readdirSync(join(sb.cache, '_npx')).map((d) => realpathSync(join(sb.cache, '_npx', d)));
    alterBinary(join(npxDir!, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao'));
    const r = await run('npx', ['--yes', SPEC, '--version'], sb.env, { cwd: elsewhere });
    expect(r.status).toBe(1);
    const fix = repairCommand(r.stderr);
    expect(fix).toBe(`rm -rf node_modules/@aoagents/ao-linux-x64 && npm install (in ${npxDir})`);
    await runRepair(fix, sb.env, npxDir);
    expect((await mustRun('npx', ['--yes', SPEC, '--version'], sb.env, { cwd: elsewhere })).stdout).toBe('ao version 0.10.0\n');
  });

  // npx installs into a project of its own in npm's cache: a fix run in the folder the user called npx from changes nothing
  // there (and writes a package-lock.json into that unrelated folder). The message names npx's folder.
  it.each([
    ['the install script', (stderr: string) => /allow its install script: (.*)\)$/m.exec(stderr)?.[1]],
    ['--include=optional', (stderr: string) => /fix: in [^:]+: (npm install --include=optional)/.exec(stderr)?.[1]],
  ])('npx with ignore-scripts=true and omit=optional in ~/.npmrc: ao names the folder npx installed into, and %s run there makes ao work', async (_, fixIn) => {
    const sb = sandbox('npm-npx-missing');
    writeFileSync(sb.npmrc, `${readFileSync(sb.npmrc, 'utf8')}ignore-scripts=true\nomit=optional\n`);
    const elsewhere = project(sb, 'elsewhere');
    const r = await run('npx', ['--yes', SPEC, '--version'], sb.env, { cwd: elsewhere });
    expect(r.status).toBe(1);
    const npxDir = readdirSync(join(sb.cache, '_npx')).map((d) => realpathSync(join(sb.cache, '_npx', d)));
    expect(npxDir).toHaveLength(1);
    expect(/fix: in ([^:]+): /.exec(r.stderr)?.[1]).toBe(npxDir[0]);
    await mustRun('sh', ['-c', fixIn(r.stderr)!], sb.env, { cwd: npxDir[0] });
    expect((await mustRun('npx', ['--yes', SPEC, '--version'], sb.env, { cwd: elsewhere })).stdout).toBe('ao version 0.10.0\n');
    expect(readdirSync(elsewhere)).toEqual(['package.json']);
  });

  it('with --ignore-scripts --omit=optional, ao names the fix instead of failing obscurely', async () => {
    const sb = sandbox('npm-nothing');
    const dir = project(sb);
    await mustRun('npm', ['install', SPEC, '--omit=optional', '--ignore-scripts', '--prefix', dir], sb.env, { cwd: dir });
    const r = await run(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], sb.env, { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('@aoagents/ao-linux-x64@0.10.0 is not installed');
    expect(r.stderr).toContain('npm install --include=optional');
    expect(r.stderr).toContain('npm rebuild @aoagents/ao');
    expect(r.stderr).not.toMatch(/\n\s+at /);

    // AO_BINARY_PATH wins over everything, with a notice; a wrong one is named, not spawned.
    const own = await hostFixtureBinary('0.10.0');
    const viaOverride = await run(join(dir, 'node_modules', '.bin', 'ao'), ['fixture', 'exit', '42'], { ...sb.env, AO_BINARY_PATH: own });
    expect(viaOverride.status).toBe(42);
    expect(viaOverride.stderr).toBe(`ao: using AO_BINARY_PATH=${own} (not verified)\n`);
    const wrong = await run(join(dir, 'node_modules', '.bin', 'ao'), ['--version'], { ...sb.env, AO_BINARY_PATH: join(dir, 'nope') });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`AO_BINARY_PATH=${join(dir, 'nope')} cannot be run`);
  });
});

describe('a registry serving an altered platform package', () => {
  let registry: EmbeddedRegistry;
  let sb: Sandbox;
  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    const staged = await stageFixtureRelease('0.10.0');
    // Same package name and version, one byte of the binary changed, repacked: its tarball integrity is
    // self-consistent in the registry, so only the manifest's binary hash can catch it.
    const platform = staged.packages.find((p) => p.name === '@aoagents/ao-linux-x64')!;
    const bin = join(platform.dir, 'bin', 'ao');
    const bytes = readFileSync(bin);
    bytes[bytes.length - 100]! ^= 0xff;
    writeFileSync(bin, bytes);
    const packed = await execFileAsync('npm', ['pack', platform.dir, '--pack-destination', join(platform.dir, '..'), '--json'], { env: process.env });
    platform.tarball = join(platform.dir, '..', (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
    await publishPlain(registry, staged);
    sb = createSandbox({ registry: registry.url, name: 'npm-tampered' });
  });
  afterAll(async () => {
    sb?.cleanup();
    await registry?.stop();
  });

  it('the fallback fetch refuses it and fails the install, installs nothing, and ao says what to run', async () => {
    const dir = join(sb.root, 'project');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"p","version":"1.0.0","private":true}\n');
    const install = await run('npm', ['install', SPEC, '--omit=optional', '--foreground-scripts', '--prefix', dir], sb.env, { cwd: dir });
    expect(install.status).toBe(1);
    expect(install.stdout + install.stderr).toContain('refusing @aoagents/ao-linux-x64@0.10.0 from the registry');
    expect(existsSync(join(sb.home, '.cache', 'ao', 'bin'))).toBe(false);
    // With scripts blocked the same install completes; the launcher then refuses to run without the binary.
    await mustRun('npm', ['install', SPEC, '--omit=optional', '--ignore-scripts', '--prefix', dir], sb.env, { cwd: dir });
    const ao = join(dir, 'node_modules', '.bin', 'ao');
    expect(isNodeScript(ao)).toBe(true);
    const r = await run(ao, ['--version'], sb.env, { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--include=optional');
  });

  it('installed as an optional dependency, the postinstall fails the install and the launcher refuses to run it', async () => {
    const global = createSandbox({ registry: registry.url, name: 'npm-tampered-global' });
    try {
      const r = await run('npm', ['install', '-g', SPEC], global.env);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('refusing @aoagents/ao-linux-x64@0.10.0');
      await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], global.env);
      const ran = await run(join(global.binDir, 'ao'), ['--version'], global.env);
      expect(ran.status).toBe(1);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toContain('refusing to run');
    } finally {
      global.cleanup();
    }
  });
});
