import { versionFromOutput } from '../common/version-output.js';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from '../common/paths.js';
import { buildBridge, buildLegacyPackage } from '../release/bridge.js';
import { generateLegacyHome, type LegacyHomeFacts, type LegacyHomeOptions } from './legacy-home.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { hashTree } from '../installer/cutover/backup/walk.js';
import { aoJson, importCapabilities, readRunFile, rewritePaths } from '../installer/cutover/rewrite.js';
import { runCommand, type CommandResult } from '../installer/cutover/run.js';
import { startDaemon, stopStartedDaemon, waitHealthy } from '../installer/cutover/steps/health.js';

/**
 * The 0.9.5 -> 0.9.6 -> 0.10.0 journey a legacy user takes, run for real in a
 * sandboxed user against a registry: the release rehearsal and the end-to-end
 * test both call `rehearseCutover`. The target release must already be in the
 * registry under a tag other than `latest` (the cutover pins it exactly).
 */
export interface RegistryRef {
  url: string;
  authToken: string;
}

export type PackageManagerName = 'npm' | 'pnpm';

export interface RehearsalOptions {
  registry: RegistryRef;
  target?: string;
  /** What the target's `ao --version` reports when its release recorded an unstamped override (the real 0.10.3: `dev`). */
  targetReports?: string;
  legacyVersion?: string;
  bridgeVersion?: string;
  packageManager?: PackageManagerName;
  /** Build and publish the legacy 0.9.5 and the 0.9.6 bridge (false when an earlier rehearsal already did). */
  publishLegacy?: boolean;
  legacyHome?: LegacyHomeOptions;
  log?: (line: string) => void;
  /** Keep the sandbox (and its running daemon) for inspection. */
  keep?: boolean;
}

export interface RehearsalReport {
  ok: boolean;
  packageManager: PackageManagerName;
  hops: Array<{ from: string; to: string; ms: number }>;
  projects: number;
  sessions: number;
  projectsInRewrite: number;
  sessionsInRewrite: number;
  sessionsInBundle: number;
  resumeIdsInBundle: number;
  sessionImport: boolean;
  daemonHealthy: boolean;
  legacyHomeUnchanged: boolean;
  problems: string[];
  sandbox: string;
}

export const DEFAULT_LEGACY_HOME: LegacyHomeOptions = { projects: 3, sessionsPerProject: 4, claude: true, codex: true, opencode: true, corrupt: true, seed: 7 };

/** `npm publish` with an npm cache of its own, removed after (the rehearsal leaves nothing in os.tmpdir()). */
export async function publishTarball(registry: RegistryRef, tarball: string, tag: string): Promise<void> {
  const host = registry.url.replace(/^https?:/, '');
  const cache = await mkdtemp(join(tmpdir(), 'ao-publish-cache-'));
  try {
    const res = await runCommand(
      'npm',
      ['publish', tarball, '--tag', tag, '--registry', registry.url, `--${host}:_authToken=${registry.authToken}`, '--loglevel=error'],
      { env: { ...process.env, npm_config_cache: cache } },
    );
    if (res.code !== 0) throw new Error(`npm publish ${tarball} failed: ${res.stderr.trim()}`);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

/** Builds 0.9.5 (plain legacy) and 0.9.6 (bridge pinned to `target`) and publishes them; 0.9.6 ends up `latest`. */
export async function publishLegacyAndBridge(
  registry: RegistryRef,
  opts: { legacyVersion?: string; bridgeVersion?: string; target?: string; testHooks?: boolean } = {},
): Promise<void> {
  const outDir = await mkdtemp(join(tmpdir(), 'ao-bridge-'));
  try {
    const legacy = await buildLegacyPackage({ version: opts.legacyVersion ?? '0.9.5', outDir });
    const bridge = await buildBridge({ version: opts.bridgeVersion ?? '0.9.6', target: opts.target ?? '0.10.0', outDir, testHooks: opts.testHooks });
    await publishTarball(registry, legacy.tarball, 'latest');
    await publishTarball(registry, bridge.tarball, 'latest');
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** A sandboxed user for a package manager: npm's prefix, or PNPM_HOME on PATH for pnpm. */
export function userSandbox(registry: RegistryRef, pm: PackageManagerName, name = 'cutover'): Sandbox {
  const sb = createSandbox({ registry: registry.url, name });
  const tools = join(REPO_ROOT, 'node_modules', '.bin');
  if (pm === 'pnpm') {
    const pnpmHome = join(sb.home, '.local', 'share', 'pnpm');
    sb.env.PNPM_HOME = pnpmHome;
    sb.env.PATH = [pnpmHome, sb.env.PATH, tools].join(delimiter);
  } else sb.env.PATH = [sb.env.PATH, tools].join(delimiter);
  return sb;
}

export function globalInstall(sb: Sandbox, pm: PackageManagerName, spec: string): Promise<CommandResult> {
  const [cmd, args] = pm === 'pnpm' ? ['pnpm', ['add', '-g', spec]] : ['npm', ['install', '-g', spec]];
  return runCommand(cmd, args, { env: sb.env, cwd: sb.home, timeoutMs: 5 * 60_000 });
}

export const ao = (sb: Sandbox, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CommandResult> =>
  runCommand('ao', args, { env: { ...sb.env, ...extraEnv }, cwd: sb.home, timeoutMs: 5 * 60_000 });

/** The legacy data a cutover must never change: the base dir plus the agents' own session files. */
export async function legacyFingerprint(home: string): Promise<string> {
  const parts = await Promise.all(['.agent-orchestrator', '.claude', '.codex'].map(async (d) => [d, await hashTree(join(home, d))] as const));
  return JSON.stringify(parts);
}

export interface RewriteInspection {
  daemonHealthy: boolean;
  /** Legacy projects `ao project ls --json` lists under their legacy ids. */
  projectsInRewrite: number;
  /** Legacy sessions `ao session ls --json` lists with the expected resume ids (0 when the rewrite imports none). */
  sessionsInRewrite: number;
  /** Legacy sessions in `~/.ao/legacy/bundle.json` with the expected resume ids. */
  sessionsInBundle: number;
  resumeIdsInBundle: number;
  sessionImport: boolean;
  problems: string[];
}

const RESUME_KEYS = ['claudeSessionUuid', 'codexThreadId', 'opencodeSessionId'] as const;
const sameResume = (want: Partial<Record<(typeof RESUME_KEYS)[number], string>>, got: Record<string, string | undefined> | undefined) =>
  RESUME_KEYS.every((k) => (want[k] ?? '') === (got?.[k] ?? ''));

/**
 * What a user has after the cutover, asked of the rewrite itself: its daemon started on a free port, healthy
 * and ready, then `ao project ls --json` (and `ao session ls --json` when it imports sessions), then stopped;
 * and the bundle the cutover keeps (mode 0600), against the facts the generated legacy home was made with.
 */
export async function inspectRewrite(sb: Sandbox, facts: LegacyHomeFacts, aoPath = 'ao'): Promise<RewriteInspection> {
  const problems: string[] = [];
  const env = { ...sb.env };
  const paths = rewritePaths(sb.home, env);
  const out: RewriteInspection = {
    daemonHealthy: false,
    projectsInRewrite: 0,
    sessionsInRewrite: 0,
    sessionsInBundle: 0,
    resumeIdsInBundle: 0,
    sessionImport: false,
    problems,
  };
  const bundleFile = join(paths.aoHome, 'legacy', 'bundle.json');
  try {
    if (((await stat(bundleFile)).mode & 0o777) !== 0o600) problems.push(`${bundleFile} is not mode 0600`);
    const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as { sessions: Array<{ id: string; projectId: string; resume: Record<string, string> }> };
    const byKey = new Map(bundle.sessions.map((x) => [`${x.projectId}/${x.id}`, x]));
    for (const s of facts.sessions.values()) {
      const got = byKey.get(s.key);
      if (!got) problems.push(`${s.key} missing from the bundle`);
      else if (!sameResume(s.resume, got.resume)) problems.push(`${s.key}: resume ids in the bundle differ`);
      else {
        out.sessionsInBundle++;
        if (RESUME_KEYS.some((k) => s.resume[k])) out.resumeIdsInBundle++;
      }
    }
  } catch (err) {
    problems.push(`cannot read ${bundleFile}: ${(err as Error).message}`);
  }
  out.sessionImport = (await importCapabilities(aoPath, env)).sessionsFrom;
  const daemon = await startDaemon({ ao: aoPath, paths, env, id: `inspect-${Date.now()}` });
  try {
    await waitHealthy({ daemon, paths, timeoutMs: 60_000 });
    out.daemonHealthy = true;
    const listed = await aoJson<{ projects: Array<{ id: string }> }>(aoPath, ['project', 'ls', '--json'], env);
    const ids = new Set(listed.projects.map((p) => p.id));
    for (const id of facts.projects)
      if (ids.has(id)) out.projectsInRewrite++;
      else problems.push(`project ${id} is not in the rewrite`);
    if (out.sessionImport) {
      const rows = await aoJson<{ data: Array<{ id: string; projectId: string; resume?: Record<string, string> }> }>(
        aoPath,
        ['session', 'ls', '--all', '--include-terminated', '--json'],
        env,
      );
      const byKey = new Map(rows.data.map((r) => [`${r.projectId}/${r.id}`, r]));
      for (const s of facts.sessions.values()) {
        const got = byKey.get(s.key);
        if (!got) problems.push(`${s.key} missing from the rewrite`);
        else if (!sameResume(s.resume, got.resume)) problems.push(`${s.key}: resume ids in the rewrite differ`);
        else out.sessionsInRewrite++;
      }
    }
  } catch (err) {
    problems.push(`the rewrite: ${(err as Error).message}`);
  } finally {
    await stopStartedDaemon({ ao: aoPath, daemon, paths, env }).catch((err: unknown) => problems.push(`stopping the daemon: ${(err as Error).message}`));
  }
  return out;
}

/** Stops the daemon a sandbox's rewrite left running, found where the rewrite itself looks (AO_RUN_FILE first). */
export async function stopSandboxDaemon(sb: Pick<Sandbox, 'home' | 'env'>): Promise<void> {
  const info = await readRunFile(rewritePaths(sb.home, sb.env).runFile).catch(() => undefined);
  if (!info) return;
  try {
    process.kill(info.pid, 'SIGTERM');
  } catch {
    // Not running.
  }
}

export async function rehearseCutover(opts: RehearsalOptions): Promise<RehearsalReport> {
  const pm = opts.packageManager ?? 'npm';
  const target = opts.target ?? '0.10.0';
  const legacyVersion = opts.legacyVersion ?? '0.9.5';
  const bridgeVersion = opts.bridgeVersion ?? '0.9.6';
  const log = opts.log ?? (() => undefined);
  if (opts.publishLegacy !== false) await publishLegacyAndBridge(opts.registry, { legacyVersion, bridgeVersion, target });
  const sb = userSandbox(opts.registry, pm, `rehearse-${pm}`);
  const problems: string[] = [];
  const hops: RehearsalReport['hops'] = [];
  const expectVersion = async (v: string, when: string) => {
    const got = await ao(sb, ['--version']);
    if (versionFromOutput(got.stdout) !== v)
      problems.push(`${when}: ao --version printed ${JSON.stringify(got.stdout.trim())} (${got.stderr.trim().slice(-200)}), expected ${v}`);
  };
  try {
    await mkdir(sb.home, { recursive: true });
    const installed = await globalInstall(sb, pm, `@aoagents/ao@${legacyVersion}`);
    if (installed.code !== 0) throw new Error(`installing ${legacyVersion} with ${pm} failed: ${installed.stderr.trim()}`);
    await expectVersion(legacyVersion, 'after installing the legacy CLI');
    const facts = generateLegacyHome(sb.home, opts.legacyHome ?? DEFAULT_LEGACY_HOME);
    const before = await legacyFingerprint(sb.home);

    let t = Date.now();
    const first = await ao(sb, ['update']);
    hops.push({ from: legacyVersion, to: bridgeVersion, ms: Date.now() - t });
    if (first.code !== 0) problems.push(`ao update (${legacyVersion}) exited ${first.code}: ${first.stderr.trim().slice(-300)}`);
    await expectVersion(bridgeVersion, 'after the first ao update');

    t = Date.now();
    const second = await ao(sb, ['update', '--yes']);
    hops.push({ from: bridgeVersion, to: target, ms: Date.now() - t });
    log(second.stderr.trim());
    if (second.code !== 0) problems.push(`ao update --yes (${bridgeVersion}) exited ${second.code}: ${second.stderr.trim().slice(-500)}`);
    await expectVersion(opts.targetReports ?? target, 'after the cutover');

    const held = await inspectRewrite(sb, facts);
    problems.push(...held.problems);
    const legacyHomeUnchanged = (await legacyFingerprint(sb.home)) === before;
    if (!legacyHomeUnchanged) problems.push('the legacy home changed during the cutover');
    return {
      ok: problems.length === 0,
      packageManager: pm,
      hops,
      projects: facts.projects.length,
      sessions: facts.sessions.size,
      ...held,
      legacyHomeUnchanged,
      problems,
      sandbox: sb.root,
    };
  } finally {
    if (!opts.keep) {
      await ao(sb, ['stop']).catch(() => undefined);
      await stopSandboxDaemon(sb);
      sb.cleanup();
    }
  }
}
