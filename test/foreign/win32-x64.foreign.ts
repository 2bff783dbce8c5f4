import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { inspectExecutable } from '../../common/binary-format.js';
import { removeFolderCommand } from '../../common/install-layout.js';
import { withEnvFor } from '../../common/shell-quote.js';
import { digestFile } from '../../common/integrity.js';
import type { EmbeddedRegistry } from '../../release/embedded-registry.js';
import { buildAppArtifact, manifestFor, rawZip } from '../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../rehearsal/fault-server.js';
import { registryWithRelease } from '../../rehearsal/release-fixture.js';
import { alterBinary, repairCommand, SHIPPED_COMMANDS } from '../postinstall/install-support.js';
import { laneTools, mustSucceed, runOnFiles, wineEnv, WINESERVER, winPath, type Ran } from './support/foreign.js';

/**
 * A Windows x64 user, for real: Node for Windows (node.exe) and npm's own JS
 * under Wine 8, installing our packages from the embedded registry into a
 * prefix whose path has a space and an ampersand, then running `ao` the way
 * npm's ao.cmd shim does (Wine's cmd cannot run npm's shim, see
 * docs/foreign-platforms.md): `node <prefix>\node_modules\@aoagents\ao\bin\ao <args>`.
 */
const { tools, skip } = laneTools('wine');
const suite = tools ? describe : describe.skip;

/**
 * The Unix pid of each Windows process whose command line holds `text` and one of `programs` (like "ao.exe"), once each
 * runs. Looked up again right before use: a process seen while Wine starts it may be gone by then (ESRCH).
 */
async function waitForProcesses(text: string, programs: string[]): Promise<number[]> {
  for (let waited = 0; waited < 60_000; waited += 200) {
    const running = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map((pid) => {
        try {
          return { pid: Number(pid), line: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') };
        } catch {
          return { pid: Number(pid), line: '' };
        }
      })
      .filter(({ line }) => line.includes(text));
    const pids = programs.map((program) => running.find(({ line }) => line.includes(program))?.pid);
    if (pids.every((pid) => pid !== undefined)) return pids as number[];
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${programs.join(' and ')} not running "${text}" after 60 s`);
}

/** A driver in support/ bundled into one file node.exe runs. */
const bundleDriver = (driver: string, outfile: string) =>
  build({ entryPoints: [join(__dirname, 'support', driver)], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, logLevel: 'error' });

suite(`win32-x64 under Wine${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const wine = tools!;
  let registry: EmbeddedRegistry;
  let appServer: FaultServer;
  let root: string;
  /** Like "C:\Users\Ann & Bo\AppData\Roaming\npm". */
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  const pkgDir = (p = prefix) => join(p, 'node_modules', '@aoagents', 'ao');
  const exePath = (p = prefix) => join(pkgDir(p), 'node_modules', '@aoagents', 'ao-win32-x64', 'bin', 'ao.exe');
  const node = (args: string[], extra: { input?: string } = {}): Promise<Ran> => runOnFiles(wine.wine64, [wine.node, ...args], env, extra);
  /** What npm's ao.cmd runs: node.exe and the launcher, arguments forwarded. */
  const ao = (args: string[], extra: { input?: string; prefix?: string } = {}): Promise<Ran> =>
    node([winPath(join(pkgDir(extra.prefix), 'bin', 'ao')), ...args], extra);

  beforeAll(async () => {
    // One wineserver for the whole file (it lingers 30 s after the last Windows process): warm calls take ~0.3 s, cold ones ~1.5 s.
    await runOnFiles(WINESERVER, ['-p30'], wineEnv(wine));
    ({ registry } = await registryWithRelease('0.10.0'));
    root = mkdtempSync(join(tmpdir(), 'ao-wine-'));
    prefix = join(root, 'Ann & Bo', 'npm');
    for (const d of [prefix, join(root, 'cache'), join(root, 'local')]) mkdirSync(d, { recursive: true });
    env = wineEnv(wine, {
      npm_config_prefix: winPath(prefix),
      npm_config_cache: winPath(join(root, 'cache')),
      npm_config_userconfig: winPath(join(root, 'npmrc')),
      npm_config_globalconfig: winPath(join(root, 'global-npmrc')),
      npm_config_registry: registry.url,
      npm_config_loglevel: 'error',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_update_notifier: 'false',
      // Wine sets %LOCALAPPDATA% from its own profile, whatever the caller passes: AO_CACHE_DIR keeps the stamps here.
      AO_CACHE_DIR: winPath(join(root, 'local', 'ao-cache')),
      NODE_OPTIONS: `--require ${winPath(wine.keepAlivePatch)}`,
    });
    // 5 s on a quiet machine; minutes when the machine is shared.
    mustSucceed(
      await runOnFiles(wine.wine64, [wine.node, winPath(wine.npmCli), 'install', '-g', '@aoagents/ao@0.10.0'], env, { timeoutMs: 300_000 }),
      'npm install -g (Windows npm under Wine)',
    );
  });
  afterAll(async () => {
    await appServer?.close();
    await registry?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('npm for Windows installs exactly @aoagents/ao-win32-x64, the postinstall verifies ao.exe, and nothing is swapped', async () => {
    expect(readdirSync(join(pkgDir(), 'node_modules', '@aoagents'))).toEqual(['ao-win32-x64']);
    const info = inspectExecutable(exePath());
    expect(info.format).toBe('pe');
    expect(info.cpus).toContain('x64');
    // npm's Windows shims, pointing at the launcher we run below.
    expect(
      readdirSync(prefix)
        .filter((f) => f.startsWith('ao'))
        .sort(),
    ).toEqual(['ao', 'ao-app', 'ao-app.cmd', 'ao-app.ps1', 'ao-legacy-import', 'ao-legacy-import.cmd', 'ao-legacy-import.ps1', 'ao.cmd', 'ao.ps1']);
    expect(readFileSync(join(prefix, 'ao.cmd'), 'utf8')).toContain('"%dp0%\\node_modules\\@aoagents\\ao\\bin\\ao" %*');
    // The postinstall ran ao.exe --version and left its stamp in the ao cache.
    expect(readdirSync(join(root, 'local', 'ao-cache', 'verified'))).toHaveLength(1);
    // Never swapped: bin/ao stays the JS launcher.
    expect(readFileSync(join(pkgDir(), 'bin', 'ao'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('the launcher runs ao.exe, and bin/ao is still the launcher after the first run', async () => {
    const r = await ao(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ao version 0.10.0\n');
    expect(readFileSync(join(pkgDir(), 'bin', 'ao'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('arguments with spaces, quotes, &, %PATH%, carets, backslashes and empty strings arrive exactly', async () => {
    const args = ['a b', 'say "hi"', 'x&y', '%PATH%', '', 'C:\\Program Files\\', 'a^b|c<d>', '\\"', 'ünï'];
    const r = await ao(['fixture', 'args', ...args]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(args);
  });

  it('exit codes and stdin pass through', async () => {
    for (const code of [0, 1, 3, 42, 255]) expect((await ao(['fixture', 'exit', String(code)])).status).toBe(code);
    expect((await ao(['fixture', 'stdin'], { input: 'piped\r\nline 2\n' })).stdout).toBe('piped\r\nline 2\n');
  });

  it('Ctrl-C in the console reaches ao.exe, which ends in its own way: the launcher neither kills it nor ends first', async () => {
    // Windows sends a console's Ctrl-C to every process attached to it; Wine turns a Unix SIGINT into that event for the
    // one process (shown by hand: ao.exe alone prints "got interrupt", node.exe alone runs the launcher's SIGINT listener).
    const marker = String(30_000 + (process.pid % 1000));
    const running = ao(['fixture', 'sleep', marker]);
    await waitForProcesses(`fixture sleep ${marker}`, ['node.exe', 'ao.exe']);
    // The Go binary's handler is installed at its start: a Ctrl-C before that ends it by Windows' default. As long as the
    // arm64 file's wait for qemu (Wine starts a Go .exe in 0.3 to 1.5 s, longer while the other lane runs).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const pid of await waitForProcesses(`fixture sleep ${marker}`, ['node.exe', 'ao.exe'])) process.kill(pid, 'SIGINT');
    const r = await running;
    // The fixture's handler prints what arrived, then exits 130 a second later (Windows cannot re-raise it): a launcher that
    // ended it (child.kill is TerminateProcess there) leaves 1.
    expect(r.stdout).toBe('got interrupt\n');
    expect(r.status).toBe(130);
  });

  it('AO_BINARY_PATH naming what Windows cannot start (a batch file, a file that is no program) gets a fix for Windows', async () => {
    const work = join(root, 'override');
    mkdirSync(work, { recursive: true });
    // A wrapper script, as a developer points ao at a build: Node starts a .cmd only through cmd.exe (EINVAL).
    writeFileSync(join(work, 'my ao.cmd'), `@"${winPath(exePath())}" %*\r\n`);
    writeFileSync(join(work, 'ao.exe'), 'not a program\n');
    const withOverride = (file: string) =>
      runOnFiles(wine.wine64, [wine.node, winPath(join(pkgDir(), 'bin', 'ao')), '--version'], { ...env, AO_BINARY_PATH: winPath(file) });
    const batch = await withOverride(join(work, 'my ao.cmd'));
    expect(batch.status).toBe(1);
    expect(batch.stderr).toContain('fix: point AO_BINARY_PATH at the .exe that script runs');
    const notAProgram = await withOverride(join(work, 'ao.exe'));
    expect(notAProgram.status).toBe(1);
    expect(notAProgram.stderr).toContain("fix: point AO_BINARY_PATH at ao's Windows program");
    expect(notAProgram.stderr).not.toContain('chmod');
  });

  it('AO_BINARY_PATH set in cmd.exe with quotes (set AO_BINARY_PATH="C:\\...\\ao.exe", which keeps them) names that file', async () => {
    const r = await runOnFiles(wine.wine64, [wine.node, winPath(join(pkgDir(), 'bin', 'ao')), '--version'], {
      ...env,
      AO_BINARY_PATH: `"${winPath(exePath())}"`,
    });
    expect(r.stdout).toBe('ao version 0.10.0\n');
    expect(r.stderr).toBe(`ao: using AO_BINARY_PATH=${winPath(exePath())} (not verified)\n`);
  });

  it('ao-app and ao-legacy-import run as their .cmd shims run them: --help, and exit 2 on a usage error', async () => {
    for (const [cmd, usage, bad] of SHIPPED_COMMANDS) {
      const file = winPath(join(pkgDir(), 'lib', cmd));
      expect(readFileSync(join(prefix, `${cmd}.cmd`), 'utf8')).toContain(`"%dp0%\\node_modules\\@aoagents\\ao\\lib\\${cmd}" %*`);
      const help = await node([file, '--help']);
      expect(help.stdout).toContain(usage);
      expect(help.status).toBe(0);
      const wrong = await node([file, bad]);
      expect(wrong.stderr).toContain(bad);
      expect(wrong.status).toBe(2);
    }
  });

  it('a tampered ao.exe is refused with the reason and the command to run, and does not run', async () => {
    const copy = join(root, 'tampered prefix');
    cpSync(prefix, copy, { recursive: true });
    const exe = exePath(copy);
    const size = readFileSync(exe).length;
    const fd = openSync(exe, 'r+');
    writeSync(fd, Buffer.from([0x90]), 0, 1, Math.floor(size / 2));
    closeSync(fd);
    const r = await ao(['fixture', 'args', 'ran'], { prefix: copy });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('refusing to run');
    expect(r.stderr).toContain('npm install -g @aoagents/ao@0.10.0');
  });

  it("in a project, a tampered ao.exe's printed fix is a command cmd.exe runs, and it puts the release back", async () => {
    const project = join(root, 'Ann & Bo', 'my project');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-project', version: '1.0.0', private: true }));
    const inProject = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
      runOnFiles(cmd, args, { ...env, ...extra }, { cwd: project, timeoutMs: 300_000 });
    mustSucceed(await inProject(wine.wine64, [wine.node, winPath(wine.npmCli), 'install', '@aoagents/ao@0.10.0']), 'npm install (project)');
    alterBinary(join(project, 'node_modules', '@aoagents', 'ao-win32-x64', 'bin', 'ao.exe'));
    const launcher = winPath(join(project, 'node_modules', '@aoagents', 'ao', 'bin', 'ao'));
    const refused = await inProject(wine.wine64, [wine.node, launcher, '--version']);
    expect(refused.stderr).toContain('refusing to run');
    const fix = repairCommand(refused.stderr);
    expect(fix).toContain(`(in ${winPath(project)})`);
    // cmd.exe as the user pastes it there, with npm's own npm.cmd reduced to what it runs (Wine's cmd stops in the real one).
    const shims = join(root, 'npm shim');
    mkdirSync(shims, { recursive: true });
    writeFileSync(join(shims, 'npm.cmd'), `@"${winPath(wine.node)}" "${winPath(wine.npmCli)}" %*\r\n`);
    await inProject(wine.wine64, ['cmd', '/c', fix!.replace(/ \(in [^)]*\)$/, '')], { WINEPATH: `${winPath(shims)};${winPath(join(wine.node, '..'))}` });
    // Wine's cmd exits 0 past a command it does not know (Windows' sets 9009 and stops at &&): what counts is the outcome.
    const again = await inProject(wine.wine64, [wine.node, launcher, '--version']);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('ao version 0.10.0\n');
  });

  it("the cutover's runCommand passes exact arguments to a .cmd shim in a folder with a space and &, and runs the JS bin/ao with node", async () => {
    const work = join(root, 'Ann & Bo', 'run command');
    mkdirSync(work, { recursive: true });
    const driver = join(work, 'driver.cjs');
    await bundleDriver('run-command-driver.ts', driver);
    // A batch shim like npm's: node plus a script, the arguments forwarded with %*.
    writeFileSync(join(work, 'print args.js'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    writeFileSync(join(work, 'print args.cmd'), `@"${winPath(wine.node)}" "%~dp0print args.js" %*\r\n`);
    const args = ['a b', 'say "hi"', 'x&y', '', 'C:\\Program Files\\', 'a^b|c<d>', '\\"', 'ünï', '--tarball=Z:\\Ann & Bo\\ao-0.10.0.tgz'];
    // '%PATH%' goes only to bin/ao (no cmd involved): Wine's cmd expands an undefined variable on a /c line to
    // nothing, where Windows' cmd leaves it as typed, so the escaped '^%PATH^%' cannot be checked under Wine.
    const jobs = [
      { cmd: winPath(join(work, 'print args')), args },
      { cmd: winPath(join(pkgDir(), 'bin', 'ao')), args: ['fixture', 'args', ...args, '%PATH%'] },
      { cmd: winPath(join(pkgDir(), 'bin', 'ao')), args: ['fixture', 'exit', '7'] },
    ];
    writeFileSync(join(work, 'jobs.json'), JSON.stringify(jobs));
    mustSucceed(await node([winPath(driver), winPath(join(work, 'jobs.json')), winPath(join(work, 'results.json'))]), 'runCommand driver');
    const results = JSON.parse(readFileSync(join(work, 'results.json'), 'utf8')) as { code: number; stdout: string; stderr: string }[];
    expect(results[0]!.stderr).toBe('');
    expect(JSON.parse(results[0]!.stdout)).toEqual(args);
    expect(JSON.parse(results[1]!.stdout)).toEqual([...args, '%PATH%']);
    expect(results[2]!.code).toBe(7);
  });

  /**
   * yarn dlx's throwaway project `<work>\Temp\xfs-<hex>\dlx-<pid>`, its global cache `<work>\my yarn\cache`, and the env of
   * a call through Yarn 4: a `yarn` (a sh script) and `yarn.cmd` in its bin folder, npm_execpath naming `yarn`, this
   * yarn answering only `config get globalFolder` in the dlx folder. The .cmd without the `@goto #_undefined_#` Wine's
   * cmd stops at.
   */
  function yarnDlxCall(work: string, hex: string) {
    const dlx = join(work, 'Temp', `xfs-${hex}`, 'dlx-1897');
    const cache = join(work, 'my yarn', 'cache');
    for (const d of [dlx, cache, join(work, 'bin')]) mkdirSync(d, { recursive: true });
    writeFileSync(
      join(work, 'yarn.js'),
      `if (process.argv.slice(2).join(' ') === 'config get globalFolder' && process.cwd() === ${JSON.stringify(winPath(dlx))}) console.log(${JSON.stringify(winPath(join(work, 'my yarn')))});\n`,
    );
    writeFileSync(join(work, 'bin', 'yarn'), `#!/bin/sh\nexec node '${winPath(join(work, 'yarn.js'))}' "$@"\n`);
    writeFileSync(join(work, 'bin', 'yarn.cmd'), `@"${winPath(wine.node)}" "${winPath(join(work, 'yarn.js'))}" %*\r\n`);
    const yarnEnv = { ...env, npm_execpath: winPath(join(work, 'bin', 'yarn')), npm_config_user_agent: 'yarn/4.9.1 npm/? node/v22.0.0 win32 x64' };
    return { dlx, cache, yarnEnv };
  }

  it("yarn dlx's repair names the cache the running yarn resolves (its npm_execpath shim has a .cmd twin), and cmd.exe runs it", async () => {
    const work = join(root, 'Ann & Bo', 'yarn dlx');
    const { dlx, cache, yarnEnv } = yarnDlxCall(work, '7997212d');
    const driver = join(work, 'driver.cjs');
    await bundleDriver('reinstall-driver.ts', driver);
    const zipped = '@aoagents-ao-win32-x64-npm-0.10.0-43951c742e';
    const platformDir = `${winPath(dlx)}\\.yarn\\unplugged\\${zipped}\\node_modules\\@aoagents\\ao-win32-x64`;
    const layout = { manager: 'yarn', global: false, pnp: true, yarnBerry: true, yarnDlx: true, project: winPath(dlx) };
    writeFileSync(join(work, 'job.json'), JSON.stringify({ layout, spec: '@aoagents/ao@0.10.0', platformDir }));
    mustSucceed(
      await runOnFiles(wine.wine64, [wine.node, winPath(driver), winPath(join(work, 'job.json')), winPath(join(work, 'fix.txt'))], yarnEnv),
      'reinstall driver',
    );
    const fix = readFileSync(join(work, 'fix.txt'), 'utf8');
    expect(fix).toBe(`del /q "${winPath(cache)}\\${zipped}-*.zip"`);
    writeFileSync(join(cache, `${zipped}-10c0.zip`), '');
    writeFileSync(join(cache, '@aoagents-ao-npm-0.10.0-ee1d9d6391-10c0.zip'), '');
    // Pasted into cmd.exe: a batch file (Wine passes a `cmd /c` line's inner quotes on as \\").
    writeFileSync(join(work, 'fix.cmd'), `${fix}\r\n`);
    mustSucceed(await runOnFiles(wine.wine64, ['cmd', '/c', 'fix.cmd'], env, { cwd: work }), 'the printed fix in cmd.exe');
    expect(readdirSync(cache)).toEqual(['@aoagents-ao-npm-0.10.0-ee1d9d6391-10c0.zip']);
  });

  // The spawn-error path passed no platform folder: a verified ao.exe Windows would not start (an antivirus) under yarn
  // dlx got `yarn cache clean --all`, every package of every project, where the tamper and version paths name the zip.
  it("under yarn dlx (nodeLinker: node-modules), a verified ao.exe Windows will not start gets the repair that removes its zip from yarn's cache", async () => {
    const work = join(root, 'Ann & Bo', 'yarn dlx start');
    const { dlx, cache, yarnEnv } = yarnDlxCall(work, '5e1f2a3b');
    cpSync(pkgDir(), join(dlx, 'node_modules', '@aoagents', 'ao'), { recursive: true });
    const launcher = winPath(join(dlx, 'node_modules', '@aoagents', 'ao', 'bin', 'ao'));
    const refused = await runOnFiles(
      wine.wine64,
      [wine.node, '--require', winPath(join(__dirname, 'support', 'refuse-binary-start.cjs')), launcher, '--version'],
      yarnEnv,
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('EPERM');
    expect(refused.stderr).toContain(`then reinstall ao: del /q "${winPath(cache)}\\@aoagents-ao-win32-x64-npm-0.10.0-*.zip"`);
  });

  it('ao-app installs the zip app and points current.json at it, replacing the pointer whole on an update', async () => {
    appServer = await startFaultServer();
    const work = join(root, 'app-work');
    const manifests: string[] = [];
    for (const version of ['0.10.0', '0.10.1']) {
      const built = await buildAppArtifact('win32', join(work, `ao-desktop-${version}.zip`), 256 * 1024);
      await appServer.serve(`/${version}.zip`, built.file);
      const digest = await digestFile(built.file);
      const manifest = {
        schema: 1,
        version,
        targets: {
          'win32-x64': {
            file: 'ao-desktop-win32-x64.zip',
            format: 'zip',
            urls: [`${appServer.url}/${version}.zip`],
            size: digest.size,
            integrity: digest.integrity,
            unpackedSizeLimit: digest.size * 4,
          },
        },
      };
      const file = join(work, `manifest-${version}.json`);
      writeFileSync(file, JSON.stringify(manifest));
      manifests.push(file);
    }
    const appRoot = join(root, 'Ann & Bo', 'ao app');
    const app = (args: string[]) => node([winPath(join(pkgDir(), 'lib', 'ao-app')), ...args, '--dir', winPath(appRoot)]);
    for (const [i, version] of ['0.10.0', '0.10.1'].entries()) {
      const r = await app(['install', '--json', '--manifest', winPath(manifests[i]!)]);
      expect(r.stderr, r.stdout).toBe('');
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: string; path: string };
      expect(result.status).toBe('installed');
      expect(JSON.parse(readFileSync(join(appRoot, 'current.json'), 'utf8'))).toEqual({ version: `${version}-win32-x64` });
      expect(existsSync(join(appRoot, 'versions', `${version}-win32-x64`, 'Ao', 'Ao.exe'))).toBe(true);
      // No symlink on Windows, and no half-written pointer left beside it.
      expect(readdirSync(appRoot).filter((f) => f.startsWith('current'))).toEqual(['current.json']);
      expect((await app(['verify', '--manifest', winPath(manifests[i]!)])).status).toBe(0);
    }
    const where = await app(['where']);
    expect(where.stdout.trim()).toBe(`${winPath(appRoot)}\\versions\\0.10.1-win32-x64`);
  });

  it('ao-app refuses a zip holding a name Windows cannot hold before writing any of it, and says so', async () => {
    appServer ??= await startFaultServer();
    const work = join(root, 'odd names');
    mkdirSync(work, { recursive: true });
    const zip = join(work, 'ao-desktop-win32-x64.zip');
    // Built on Linux or macOS, where `?` is a name like any other; Windows' file API refuses it.
    writeFileSync(
      zip,
      rawZip([
        { name: 'Ao/Ao.exe', data: 'MZ' },
        { name: 'Ao/resources/what?.txt', data: 'notes' },
      ]),
    );
    writeFileSync(join(work, 'manifest.json'), JSON.stringify(await manifestFor(appServer, zip, 'zip', 'win32-x64', {}, { path: '/odd-names.zip' })));
    const appRoot = join(work, 'app');
    const r = await node([
      winPath(join(pkgDir(), 'lib', 'ao-app')),
      'install',
      '--json',
      '--manifest',
      winPath(join(work, 'manifest.json')),
      '--dir',
      winPath(appRoot),
    ]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ event: 'error', code: 'EUNSAFEARCHIVE' });
    expect(r.stderr).toContain('"Ao/resources/what?.txt" cannot be written on Windows');
    expect(readdirSync(join(appRoot, 'versions'))).toEqual([]);
  });

  /** A manifest for a zip app whose Ao.exe is the fixture binary, so it can run (and sleep) from its version folder. */
  async function runnableApp(work: string, version: string): Promise<string> {
    appServer ??= await startFaultServer();
    const zip = join(work, `${version}.zip`);
    const entries = [
      { name: 'Ao/Ao.exe', data: readFileSync(exePath()) },
      { name: 'Ao/version.txt', data: version },
    ];
    writeFileSync(zip, rawZip(entries));
    const file = join(work, `manifest-${version}.json`);
    const served = { path: `/${work.split('/').pop()}-${version}.zip`.replace(/ /g, '-'), version };
    writeFileSync(file, JSON.stringify(await manifestFor(appServer, zip, 'zip', 'win32-x64', {}, served)));
    return file;
  }
  const appCommand = (args: string[], appRoot: string) => node([winPath(join(pkgDir(), 'lib', 'ao-app')), ...args, '--dir', winPath(appRoot)]);
  /** The installed app in `versionDir` started, and its Unix pid once it runs. */
  async function startApp(versionDir: string): Promise<{ app: number; running: Promise<Ran> }> {
    const marker = String(40_000 + (process.pid % 1000));
    const running = runOnFiles(wine.wine64, [join(versionDir, 'Ao', 'Ao.exe'), 'fixture', 'sleep', marker], env);
    await waitForProcesses(`fixture sleep ${marker}`, ['Ao.exe']);
    // Looked up again once it runs for sure (see waitForProcesses).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [app] = await waitForProcesses(`fixture sleep ${marker}`, ['Ao.exe']);
    return { app: app!, running };
  }

  it('ao-app updates the app while the old version runs (Windows will not delete a running program), and removes it later', async () => {
    appServer ??= await startFaultServer();
    const work = join(root, 'running app');
    mkdirSync(work, { recursive: true });
    const manifests = [await runnableApp(work, '0.10.0'), await runnableApp(work, '0.10.1')];
    const appRoot = join(work, 'app');
    const install = (manifest: string) => appCommand(['install', '--json', '--manifest', winPath(manifest)], appRoot);
    mustSucceed(await install(manifests[0]!), 'ao-app install 0.10.0');
    const { app, running } = await startApp(join(appRoot, 'versions', '0.10.0-win32-x64'));
    try {
      const update = await install(manifests[1]!);
      expect(update.stderr).toBe('');
      expect(update.status).toBe(0);
      expect(JSON.parse(update.stdout.trim().split('\n').pop()!)).toMatchObject({
        event: 'result',
        status: 'installed',
        version: '0.10.1',
        leftBehind: [expect.objectContaining({ path: winPath(join(appRoot, 'versions', '0.10.0-win32-x64')) })],
      });
      expect(JSON.parse(readFileSync(join(appRoot, 'current.json'), 'utf8'))).toEqual({ version: '0.10.1-win32-x64' });
      // Asked again while the old app still runs: installed, and what is left of the old one still waits.
      const again = await install(manifests[1]!);
      expect(again.stderr).toBe('');
      expect(JSON.parse(again.stdout.trim().split('\n').pop()!)).toMatchObject({ event: 'result', status: 'already-installed' });
    } finally {
      process.kill(app, 'SIGKILL');
      await running;
    }
    // The old app has ended: the next install takes what was left of it away.
    mustSucceed(await install(manifests[1]!), 'ao-app install 0.10.1 again');
    expect(readdirSync(join(appRoot, 'versions'))).toEqual(['0.10.1-win32-x64']);
  });

  it('ao-app remove while the app runs says to close it, and removes it once closed', async () => {
    const work = join(root, 'remove running');
    mkdirSync(work, { recursive: true });
    const appRoot = join(work, 'app');
    mustSucceed(await appCommand(['install', '--json', '--manifest', winPath(await runnableApp(work, '0.10.0'))], appRoot), 'ao-app install');
    const { app, running } = await startApp(join(appRoot, 'versions', '0.10.0-win32-x64'));
    try {
      const refused = await appCommand(['remove'], appRoot);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('fix: close the desktop app');
    } finally {
      process.kill(app, 'SIGKILL');
      await running;
    }
    mustSucceed(await appCommand(['remove'], appRoot), 'ao-app remove once the app ended');
    expect(existsSync(join(appRoot, 'versions', '0.10.0-win32-x64'))).toBe(false);
  });

  it("the cutover's app step puts the app under %USERPROFILE%\\.ao\\app when HOME is unset, as on Windows", async () => {
    const work = join(root, 'app step');
    const pkg = join(work, 'global', '@aoagents', 'ao');
    mkdirSync(pkg, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(root, 'app-work', 'manifest-0.10.0.json'), 'utf8')) as unknown;
    writeFileSync(join(pkg, 'ao-manifest.json'), JSON.stringify({ app: manifest }));
    const driver = join(work, 'driver.cjs');
    await bundleDriver('app-step-driver.ts', driver);
    // Wine's %USERPROFILE% is inside the shared prefix: what the step writes there is removed after.
    const profileAo = join(wine.prefix, 'drive_c', 'users', process.env.USER ?? 'root', '.ao');
    try {
      mustSucceed(
        await runOnFiles(wine.wine64, [wine.node, winPath(driver), winPath(join(work, 'global')), winPath(join(work, 'out.json'))], env, { cwd: work }),
        'app step driver',
      );
      const { outcome, userProfile } = JSON.parse(readFileSync(join(work, 'out.json'), 'utf8')) as {
        outcome: { status: string; path?: string; reason?: string };
        userProfile: string;
      };
      expect(outcome.reason).toBeUndefined();
      expect(outcome).toEqual({ status: 'fetched', path: `${userProfile}\\.ao\\app\\versions\\0.10.0-win32-x64` });
      expect(existsSync(join(work, '.ao'))).toBe(false);
    } finally {
      rmSync(profileAo, { recursive: true, force: true });
    }
  });

  // Typed into cmd.exe (its input read as a console's lines, where %NAME% is expanded as at the prompt, unlike a batch
  // file). `set X=1 && cmd` would give X the value "1 ", and cmd expands %USERPROFILE% inside double quotes: quoted as
  // before, the folder named so was C:\users\<user> to rmdir, and the folder itself was kept.
  it('printed commands do in cmd.exe what they say: a variable set for a command arrives exact, and a folder named %USERPROFILE% is the one removed', async () => {
    const work = join(root, 'cmd lines');
    const named = join(work, '%USERPROFILE%');
    mkdirSync(join(named, 'inside'), { recursive: true });
    const out = join(work, 'deadline.json');
    const node = `"${winPath(wine.node)}" -e "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env.AO_APP_DEADLINE_MS))"`;
    const lines = [
      '@echo off',
      withEnvFor('win32', 'AO_APP_DEADLINE_MS', '14400000', `${node} "${winPath(out)}"`),
      removeFolderCommand(winPath(named), 'win32'),
      '',
    ];
    mustSucceed(await runOnFiles(wine.wine64, ['cmd'], env, { cwd: work, input: lines.join('\r\n') }), 'cmd.exe reading the printed lines');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toBe('14400000');
    expect(existsSync(named)).toBe(false);
    expect(existsSync(work)).toBe(true);
  });

  it("ao-app's fix for a link too slow for its deadline is a command cmd.exe runs (set, not NAME=value)", async () => {
    const server = await startFaultServer();
    try {
      const work = join(root, 'slow link');
      const built = await buildAppArtifact('win32', join(work, 'ao-desktop-win32-x64.zip'), 1024 * 1024);
      const manifest = join(work, 'manifest.json');
      writeFileSync(manifest, JSON.stringify(await manifestFor(server, built.file, 'zip', 'win32-x64')));
      server.fault('/ao-desktop-win32-x64.zip', { kind: 'trickle', bytesPerSecond: 20_000 });
      const r = await runOnFiles(
        wine.wine64,
        [wine.node, winPath(join(pkgDir(), 'lib', 'ao-app')), 'install', '--manifest', winPath(manifest), '--dir', winPath(join(work, 'app'))],
        { ...env, AO_APP_DEADLINE_MS: '3000' },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /fix: .*raise AO_APP_DEADLINE_MS \(now 3000 ms\) for the next run, which resumes: set "AO_APP_DEADLINE_MS=14400000", then run the same ao-app command again\n/,
      );
    } finally {
      await server.close();
    }
  });

  // cmd.exe has no unset, and `NAME=value` alone is no command there: each fix for a variable set wrong was a POSIX line.
  it('a variable set wrong for ao-app gets the cmd.exe lines that clear it or set it', async () => {
    const work = join(root, 'wrong settings');
    mkdirSync(work, { recursive: true });
    const artifact = join(work, 'ao-desktop-win32-x64.zip');
    writeFileSync(artifact, 'never downloaded');
    const { size, integrity } = await digestFile(artifact);
    const manifest = join(work, 'manifest.json');
    const target = { file: 'ao-desktop-win32-x64.zip', format: 'zip', urls: ['http://127.0.0.1:9/app.zip'], size, integrity, unpackedSizeLimit: 1 << 20 };
    writeFileSync(manifest, JSON.stringify({ schema: 1, version: '0.10.0', targets: { 'win32-x64': target } }));
    const fixWith = async (setting: NodeJS.ProcessEnv) => {
      const args = [wine.node, winPath(join(pkgDir(), 'lib', 'ao-app')), 'install', '--manifest', winPath(manifest), '--dir', winPath(join(work, 'app'))];
      const r = await runOnFiles(wine.wine64, args, { ...env, ...setting });
      expect(r.status, r.stderr).toBe(1);
      return r.stderr.split('\n').find((line) => line.startsWith('  fix: '));
    };
    expect(await fixWith({ AO_APP_STALL_MS: '30s' })).toBe('  fix: set "AO_APP_STALL_MS=", or set "AO_APP_STALL_MS=30000"');
    expect(await fixWith({ HTTP_PROXY: 'ftp://proxy.example.com' })).toBe(
      '  fix: set HTTP_PROXY to the proxy\'s URL (set "HTTP_PROXY=http://proxy.example.com:3128"), or clear it (set "HTTP_PROXY="), then run ao-app install again',
    );
    expect(await fixWith({ AO_APP_BASE_URL: 'ftp://mirror.example.com/ao/' })).toBe(
      '  fix: set "AO_APP_BASE_URL=", or set it to the http(s) folder holding the release files: set "AO_APP_BASE_URL=https://mirror.example.com/ao/"',
    );
  });
});
