import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DISMISSED_FILE } from '../../common/legacy-notice-dismissal.js';
import { importRecordPath } from '../../common/legacy-paths.js';
import { REPO_ROOT } from '../../common/paths.js';
import { stampPath } from '../../postinstall/locations.js';
import { writeStamp } from '../../postinstall/verify-binary.js';
import { canRunPinnedNode, pinnedNode } from '../../rehearsal/pinned-node.js';
import { editKeepingMtime, mustRun, OTHER_UID, REPORT_COMPILED_AT_EXECVE, run, useReleaseRegistry } from './install-support.js';
import { asUser, canDropPrivileges, NOBODY } from '../support/users.js';

/**
 * bin/ao's usual path (launcher-entry.ts) takes the usual case in straight-line code and sends everything else to the
 * full launcher. Its promise: it never runs a binary the full launcher would not run. Each state below is run through
 * bin/ao (which path took it, and the outcome) and, where bin/ao ran the binary itself, through the full launcher alone,
 * which must run it too.
 */
const SPEC = '@aoagents/ao@0.10.0';
const REPLACE_AFTER_VERSION = join(REPO_ROOT, 'test', 'postinstall', 'support', 'replace-after-version.cjs');
const asRoot = process.getuid?.() === 0;

interface Install {
  pkg: string;
  binary: string;
  home: string;
  env: NodeJS.ProcessEnv;
}

describe.runIf(canRunPinnedNode)("bin/ao's usual path never runs what the full launcher would not", () => {
  const release = useReleaseRegistry();
  let node22: string;
  let installed: string;
  let baseEnv: NodeJS.ProcessEnv;
  let cases = 0;

  beforeAll(async () => {
    node22 = await pinnedNode(22);
    const sb = release.sandbox('fast-path');
    await mustRun('npm', ['install', '-g', SPEC, '--ignore-scripts'], sb.env);
    installed = join(sb.prefix, 'lib', 'node_modules', '@aoagents');
    baseEnv = sb.env;
  });

  /** A copy of the installed packages with a HOME of its own, verified once by the full launcher (its stamp written). */
  async function freshInstall(): Promise<Install> {
    const root = join(release.sandbox(`fast-path-${cases++}`).root, 'case');
    cpSync(installed, join(root, 'node_modules', '@aoagents'), { recursive: true });
    const pkg = join(root, 'node_modules', '@aoagents', 'ao');
    const home = join(root, 'home');
    mkdirSync(home);
    // As a user's shell: the runner's CI would silence the legacy notice, which some states below are about.
    const env = { ...baseEnv, HOME: home, XDG_CACHE_HOME: '', CI: '', AO_NO_LEGACY_NOTICE: '', AO_LEGACY_NOTICE: '' };
    const install = { pkg, binary: realpathSync(join(pkg, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao')), home, env };
    expect((await full(install)).status).toBe(7);
    return install;
  }

  const full = (i: Install, env: NodeJS.ProcessEnv = {}) =>
    run(node22, [join(i.pkg, 'lib', 'launcher-full.cjs'), 'fixture', 'exit', '7'], { ...i.env, ...env });

  /** Runs bin/ao: which launcher handed over to the binary ('usual path', 'full launcher', or none by exec), and the outcome. */
  async function viaBinAo(i: Install, env: NodeJS.ProcessEnv = {}) {
    const r = await run(node22, ['--require', REPORT_COMPILED_AT_EXECVE, join(i.pkg, 'bin', 'ao'), 'fixture', 'exit', '7'], { ...i.env, ...env });
    const compiled = /compiled: (.*)/.exec(r.stderr);
    const files = compiled ? (JSON.parse(compiled[1]!) as string[]) : undefined;
    const took = !files ? 'no exec' : files.some((f) => f.endsWith('launcher-full.cjs')) ? 'full launcher' : 'usual path';
    return { took, status: r.status, stderr: r.stderr.replace(/compiled: .*\n/, '') };
  }

  /** bin/ao ran the binary itself: the full launcher, alone in the same state, runs it too. */
  async function expectUsualPath(i: Install, env: NodeJS.ProcessEnv = {}) {
    expect(await viaBinAo(i, env)).toEqual({ took: 'usual path', status: 7, stderr: '' });
    expect((await full(i, env)).status).toBe(7);
  }

  it('a stamp the full launcher wrote for this very file: the usual path runs the binary', async () => {
    await expectUsualPath(await freshInstall());
  });

  it('the binary edited in place, its mtime put back: the full launcher decides, and refuses it', async () => {
    const i = await freshInstall();
    editKeepingMtime(i.binary);
    const r = await viaBinAo(i);
    expect([r.took, r.status]).toEqual(['no exec', 1]);
    expect(r.stderr).toContain(`refusing to run ${i.binary}`);
  });

  it.runIf(asRoot)('a stamp another user wrote for the edited binary is no proof: the full launcher refuses it', async () => {
    const i = await freshInstall();
    editKeepingMtime(i.binary);
    const cache = join(i.home, '.cache', 'ao');
    writeStamp(i.binary, statSync(i.binary), release.manifest.binaries['linux-x64']!, cache);
    execFileSync('chown', ['-R', `${OTHER_UID}:${OTHER_UID}`, cache]);
    const r = await viaBinAo(i);
    expect([r.took, r.status]).toEqual(['no exec', 1]);
    expect(r.stderr).toContain(`refusing to run ${i.binary}`);
  });

  it('a stamp others may write, or in a folder another user owns: the full launcher verifies the binary again, then runs it', async () => {
    const i = await freshInstall();
    const stamp = stampPath(i.binary, statSync(i.binary), join(i.home, '.cache', 'ao'));
    chmodSync(stamp, 0o664);
    expect(await viaBinAo(i)).toEqual({ took: 'full launcher', status: 7, stderr: '' });
    // Verified again, the stamp is private once more: the usual path is open.
    await expectUsualPath(i);
    if (asRoot) {
      chownSync(join(i.home, '.cache', 'ao', 'verified'), OTHER_UID, OTHER_UID);
      expect((await viaBinAo(i)).took).toBe('full launcher');
    }
  });

  it('AO_CACHE_DIR, or an XDG_CACHE_HOME that is not absolute (and so not used): the stamp where cacheRoot() puts it', async () => {
    const i = await freshInstall();
    const elsewhere = join(i.home, 'elsewhere');
    expect((await full(i, { AO_CACHE_DIR: elsewhere })).status).toBe(7);
    expect(existsSync(stampPath(i.binary, statSync(i.binary), elsewhere))).toBe(true);
    await expectUsualPath(i, { AO_CACHE_DIR: elsewhere });
    await expectUsualPath(i, { XDG_CACHE_HOME: 'relative/cache' });
    // Absolute: its own cache, with no stamp yet.
    expect((await viaBinAo(i, { XDG_CACHE_HOME: join(i.home, 'xdg') })).took).toBe('full launcher');
  });

  it.runIf(asRoot)(
    "root with a HOME another user owns (sudo keeping HOME): the stamp in the package's own cache, where the full launcher writes it",
    async () => {
      const i = await freshInstall();
      rmSync(join(i.home, '.cache'), { recursive: true });
      chownSync(i.home, OTHER_UID, OTHER_UID);
      expect(await viaBinAo(i)).toEqual({ took: 'full launcher', status: 7, stderr: '' });
      expect(existsSync(stampPath(i.binary, statSync(i.binary), join(i.pkg, 'cache')))).toBe(true);
      await expectUsualPath(i);
    },
  );

  // Without HOME the home is the system's (root's here): only read, and only where no legacy home is.
  it.runIf(!existsSync(join(homedir(), '.agent-orchestrator')) && !existsSync(join(homedir(), '.ao-sessions')))(
    'no HOME at all (a system service, env -i) with the cache named by XDG_CACHE_HOME: the usual path',
    async () => {
      const i = await freshInstall();
      const xdg = join(i.home, 'xdg');
      expect((await full(i, { XDG_CACHE_HOME: xdg })).status).toBe(7);
      await expectUsualPath({ ...i, env: { ...i.env, HOME: undefined } }, { XDG_CACHE_HOME: xdg });
    },
  );

  // As nobody (its passwd home, /nonexistent, cannot be created): as root the fix would write root's own home.
  it.runIf(canDropPrivileges)(
    "an empty HOME (HOME= in a unit file or a CI step) is the user's home from the system, not the working folder: no .cache left in every folder ao runs in",
    async () => {
      const i = await freshInstall();
      const cwd = join(i.home, 'some-project');
      mkdirSync(cwd);
      chmodSync(cwd, 0o777);
      for (let dir = i.home; dir !== '/'; dir = join(dir, '..')) chmodSync(dir, statSync(dir).mode | 0o005);
      execFileSync('chmod', ['-R', 'o+rX', join(i.pkg, '..')]);
      const r = await run(...asUser(NOBODY, [node22, join(i.pkg, 'bin', 'ao'), 'fixture', 'exit', '7']), { ...i.env, HOME: '' }, { cwd });
      expect([r.status, r.stderr, readdirSync(cwd)]).toEqual([7, '', []]);
    },
  );

  it('a legacy home with projects not imported, AO_BINARY_PATH, or the platform package where the usual path does not look: the full launcher takes the call', async () => {
    const i = await freshInstall();
    mkdirSync(join(i.home, '.agent-orchestrator', 'projects', 'p1'), { recursive: true });
    expect(await viaBinAo(i)).toEqual({ took: 'full launcher', status: 7, stderr: '' });
    rmSync(join(i.home, '.agent-orchestrator'), { recursive: true });
    // Spawned, never exec'd: no process.execve at all.
    const r = await viaBinAo(i, { AO_BINARY_PATH: i.binary });
    expect([r.took, r.status, r.stderr]).toEqual(['no exec', 7, `ao: using AO_BINARY_PATH=${i.binary} (not verified)\n`]);
    // Beside ao's grandparent folder, where Node's resolution still finds it (and the full launcher with it).
    const root = join(i.pkg, '..', '..', '..');
    mkdirSync(join(root, '..', 'node_modules', '@aoagents'), { recursive: true });
    cpSync(join(i.pkg, 'node_modules', '@aoagents', 'ao-linux-x64'), join(root, '..', 'node_modules', '@aoagents', 'ao-linux-x64'), { recursive: true });
    rmSync(join(i.pkg, 'node_modules'), { recursive: true });
    expect((await full(i)).status).toBe(7);
    expect(await viaBinAo(i)).toEqual({ took: 'full launcher', status: 7, stderr: '' });
  });

  // The notice is for projects to import: a legacy home without any (left empty, or its config alone) had sent every call of
  // that user to the full launcher, for a notice never shown.
  it('a legacy home with nothing to import (empty, its config without projects, an empty ~/.ao-sessions): the usual path', async () => {
    const i = await freshInstall();
    const legacy = join(i.home, '.agent-orchestrator');
    mkdirSync(join(legacy, 'projects'), { recursive: true });
    await expectUsualPath(i);
    writeFileSync(join(legacy, 'config.yaml'), 'port: 3000\nprojects: {}\n');
    await expectUsualPath(i);
    rmSync(legacy, { recursive: true });
    mkdirSync(join(i.home, '.ao-sessions'));
    await expectUsualPath(i);
    // One project in its config: the notice may be due, the full launcher decides.
    mkdirSync(legacy);
    writeFileSync(join(legacy, 'config.yaml'), 'projects:\n  web:\n    path: ~/web\n');
    expect((await viaBinAo(i)).took).toBe('full launcher');
  });

  it('a legacy home imported, its notice dismissed or silenced: the usual path (the notice is never due)', async () => {
    const i = await freshInstall();
    mkdirSync(join(i.home, '.agent-orchestrator', 'projects', 'p1'), { recursive: true });
    expect((await viaBinAo(i)).took).toBe('full launcher');
    await expectUsualPath(i, { AO_NO_LEGACY_NOTICE: '1' });
    await expectUsualPath(i, { CI: 'true' });
    // Not silenced when asked for (AO_LEGACY_NOTICE), even in CI.
    expect((await viaBinAo(i, { CI: 'true', AO_LEGACY_NOTICE: '1' })).took).toBe('full launcher');
    mkdirSync(join(i.home, '.ao', 'legacy'), { recursive: true });
    writeFileSync(join(i.home, '.ao', 'legacy', DISMISSED_FILE), '');
    await expectUsualPath(i);
    rmSync(join(i.home, '.ao', 'legacy', DISMISSED_FILE));
    writeFileSync(importRecordPath({ HOME: i.home }), '{}');
    await expectUsualPath(i);
  });

  it('a hard link of a verified binary (pnpm links one store file into every project) shares its stamp', async () => {
    const a = await freshInstall();
    const b = await freshInstall();
    // b's binary becomes a link to a's file; linking changes the file's ctime, so a verifies it once more.
    rmSync(b.binary);
    linkSync(a.binary, b.binary);
    expect((await full(a)).status).toBe(7);
    await expectUsualPath({ ...b, env: a.env, home: a.home });
  });

  /** Runs the postinstall of `i` while another file of the same size (one byte changed) takes the binary's place by rename, once its --version has run. */
  async function postinstallMeetingAReplacement(i: Install) {
    const replacement = `${i.binary}.next`;
    cpSync(i.binary, replacement);
    editKeepingMtime(replacement);
    const post = await run(node22, ['--require', REPLACE_AFTER_VERSION, join(i.pkg, 'lib', 'postinstall.cjs')], { ...i.env, AO_TEST_REPLACEMENT: replacement });
    expect([post.status, existsSync(replacement)]).toEqual([0, false]);
  }

  it('a binary replaced while the postinstall ran its --version: its stamp vouches for the file it hashed, not the one there after', async () => {
    const i = await freshInstall();
    await postinstallMeetingAReplacement(i);
    const r = await viaBinAo(i);
    expect([r.took, r.status]).toEqual(['no exec', 1]);
    expect(r.stderr).toContain(`refusing to run ${i.binary}`);
  });

  it("a binary replaced while the postinstall ran its --version: the swap never puts the file there after in the launcher's place", async () => {
    const i = await freshInstall();
    // npm's bin link, so the postinstall swaps (a hard link of the binary: it is inside the package).
    const binLink = join(i.pkg, '..', '..', '.bin', 'ao');
    mkdirSync(join(binLink, '..'));
    symlinkSync('../@aoagents/ao/bin/ao', binLink);
    await postinstallMeetingAReplacement(i);
    const r = await run(binLink, ['fixture', 'exit', '7'], i.env);
    expect([r.status, r.stderr]).toEqual([1, expect.stringContaining(`refusing to run ${i.binary}`)]);
  });

  it.runIf(asRoot && process.platform === 'linux')('a verified binary on a file system mounted noexec: one clear message, exit 1, never an abort', async () => {
    const i = await freshInstall();
    const mnt = join(i.home, 'noexec');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=64m', 'tmpfs', mnt]);
    try {
      const moved: Install = { ...i, pkg: join(mnt, 'node_modules', '@aoagents', 'ao') };
      cpSync(join(i.pkg, '..'), join(mnt, 'node_modules', '@aoagents'), { recursive: true });
      moved.binary = join(moved.pkg, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
      // A stamp for the copy as it is (the one the full launcher would write, had it been able to hash it there).
      writeStamp(moved.binary, statSync(moved.binary), release.manifest.binaries['linux-x64']!, join(i.home, '.cache', 'ao'));
      const r = await viaBinAo(moved);
      expect([r.took, r.status]).toEqual(['no exec', 1]);
      expect(r.stderr).toContain(`cannot run ${moved.binary}`);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
