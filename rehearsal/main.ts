#!/usr/bin/env node
import { versionFromOutput } from '../common/version-output.js';
import { execFile, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatError } from '../common/errors.js';
import { appTargets, loadMatrix, releaseMatrix, type Matrix } from '../common/matrix.js';
import { FIXTURE_RELEASE_CONFIG_PATH, OUT_DIR } from '../common/paths.js';
import { loadReleaseConfig } from '../common/release-config.js';
import { rehearseCutover } from './cutover.js';
import { buildReleaseApps } from './app-fixtures.js';
import { startFaultServer } from './fault-server.js';
import { fixtureBinaries } from './fixture-binaries.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../release/embedded-registry.js';
import { freePort } from '../common/free-port.js';
import { buildAppManifest } from '../release/app-manifest.js';
import { describeInstall, expectUnstampedRefusal, installAndRunFirstCommands, publishRealRewriteRelease } from './real-release.js';
import { canRunRealRewrite, REAL_REWRITE, realRewriteBinary } from './real-rewrite.js';
import { publish, type PublishRecord } from '../release/publish.js';
import { overrideLine, stage, type StageResult } from '../release/stage.js';
import { verify } from '../release/verify.js';

const run = promisify(execFile);

/**
 * The main job: the whole release rehearsed on embedded defaults. An ordered list of
 * named steps sharing one context; other parts add their steps (desktop app fetch,
 * legacy cutover) by inserting into REHEARSAL_STEPS or passing their own list.
 */
export interface RehearsalContext {
  version: string;
  matrix: Matrix;
  workDir: string;
  binariesDir?: string;
  /** The desktop app manifest pinned into the main package. */
  app?: unknown;
  stageDir?: string;
  staged?: StageResult;
  registry?: EmbeddedRegistry;
  record?: PublishRecord;
  sandbox?: Sandbox;
  /** Bundled launcher/postinstall code to stage (default dist/shipped, from npm run build). */
  shippedDir?: string;
  /** Run last to first when the rehearsal ends, whether it passed or not. */
  cleanups: Array<() => Promise<void> | void>;
}

export interface RehearsalStep {
  name: string;
  /** Returns a short detail for the report. */
  run(ctx: RehearsalContext): Promise<string>;
}

export interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

const buildBinaries: RehearsalStep = {
  name: 'build fixture binaries',
  async run(ctx) {
    const { targets } = releaseMatrix(ctx.matrix);
    ctx.binariesDir = await fixtureBinaries(ctx.version, targets);
    return `${targets.length} targets in ${ctx.binariesDir}`;
  },
};

/** Desktop app artifacts for every target, served from a local artifact server, pinned in a signed manifest. */
const buildApps: RehearsalStep = {
  name: 'desktop app artifacts',
  async run(ctx) {
    const dir = join(ctx.workDir, 'apps');
    await mkdir(dir, { recursive: true });
    const withApp = appTargets(ctx.matrix);
    await buildReleaseApps(withApp, dir, 1 << 20);
    const server = await startFaultServer();
    ctx.cleanups.push(() => server.close());
    for (const t of withApp) await server.serve(`/ao/${ctx.version}/${t.app.file}`, join(dir, t.app.file));
    const { privateKey } = generateKeyPairSync('ed25519');
    ctx.app = await buildAppManifest({
      matrix: ctx.matrix,
      version: ctx.version,
      artifactsDir: dir,
      baseUrls: [`${server.url}/ao/${ctx.version}`],
      signingKey: privateKey,
    });
    return `${withApp.length} artifacts signed, served at ${server.url}`;
  },
};

const stageRelease: RehearsalStep = {
  name: 'stage',
  async run(ctx) {
    ctx.stageDir = join(ctx.workDir, 'stage');
    ctx.staged = await stage({
      matrix: ctx.matrix,
      config: loadReleaseConfig(FIXTURE_RELEASE_CONFIG_PATH),
      version: ctx.version,
      binariesDir: ctx.binariesDir!,
      outDir: ctx.stageDir,
      ...(ctx.app ? { app: ctx.app } : {}),
    });
    return `${ctx.staged.packages.length} packages`;
  },
};

const verifyStaged: RehearsalStep = {
  name: 'verify tarballs',
  async run(ctx) {
    const report = await verify({ stageDir: ctx.stageDir!, matrix: ctx.matrix });
    return `${report.packages} packages pass`;
  },
};

const startRegistry: RehearsalStep = {
  name: 'start embedded registry',
  async run(ctx) {
    const registry = await startEmbeddedRegistry();
    ctx.registry = registry;
    ctx.cleanups.push(() => registry.stop());
    return registry.url;
  },
};

const publishStaged: RehearsalStep = {
  name: 'publish + post-verify',
  async run(ctx) {
    const { record } = await publish({ stageDir: ctx.stageDir!, registry: { url: ctx.registry!.url, token: ctx.registry!.authToken } });
    ctx.record = record;
    return `${record!.packages.length} packages under ${record!.tag}, byte-identical on fetch-back`;
  },
};

const verifyResolution: RehearsalStep = {
  name: 'resolve per target',
  async run(ctx) {
    const report = await verify({ stageDir: ctx.stageDir!, matrix: ctx.matrix, registry: ctx.registry!.url });
    return `each of ${Object.keys(report.resolution!).length} targets gets exactly its platform package`;
  },
};

const installGlobally: RehearsalStep = {
  name: 'npm install -g',
  async run(ctx) {
    const sandbox = createSandbox({ registry: ctx.registry!.url, name: 'rehearsal' });
    ctx.sandbox = sandbox;
    ctx.cleanups.push(() => sandbox.cleanup());
    await run('npm', ['install', '-g', `${ctx.matrix.mainPackage}@${ctx.version}`], { env: sandbox.env });
    return `${ctx.matrix.mainPackage}@${ctx.version} into ${sandbox.prefix}`;
  },
};

const runInstalled: RehearsalStep = {
  name: 'ao --version',
  async run(ctx) {
    const exe = join(ctx.sandbox!.binDir, process.platform === 'win32' ? 'ao.cmd' : 'ao');
    const { stdout } = await run(exe, ['--version'], { env: ctx.sandbox!.env });
    if (versionFromOutput(stdout) !== ctx.version) throw new Error(`ao --version printed "${stdout.trim()}", expected ${ctx.version}`);
    return stdout.trim();
  },
};

const fetchApp: RehearsalStep = {
  name: 'desktop app fetch',
  async run(ctx) {
    const exe = join(ctx.sandbox!.binDir, process.platform === 'win32' ? 'ao-app.cmd' : 'ao-app');
    const { stdout } = await run(exe, ['install', '--json'], { env: ctx.sandbox!.env });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { status?: string; path?: string };
    if (result.status !== 'installed') throw new Error(`ao-app install ended with ${JSON.stringify(result)}`);
    return `verified and installed at ${result.path}`;
  },
};

/**
 * The rewrite's own `ao start` (the real 0.10.3; linux-x64 hosts) opens the app `ao-app` just verified and
 * installed, found through ~/.ao/app-state.json, with its own download blocked (proxies on a closed port): the
 * user downloads nothing twice and nothing unverified is opened. The rehearsal's app is a script that exits.
 */
const realStartFindsApp: RehearsalStep = {
  name: 'real ao start finds the app',
  async run(ctx) {
    if (!canRunRealRewrite) return `skipped: the real binary exists for linux-x64 only, this host is ${process.platform}-${process.arch}`;
    const stateFile = join(ctx.sandbox!.home, '.ao', 'app-state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as { appPath?: string };
    const blocked = `http://127.0.0.1:${await freePort()}`;
    const env = { ...ctx.sandbox!.env, HTTPS_PROXY: blocked, HTTP_PROXY: blocked, https_proxy: blocked, http_proxy: blocked, NO_PROXY: '', no_proxy: '' };
    const started = spawnSync(await realRewriteBinary(), ['start', '--json'], { env, input: '', encoding: 'utf8', timeout: 60_000 });
    let answer: { resolved?: boolean; fetched?: boolean; appPath?: string } = {};
    try {
      answer = JSON.parse(started.stdout) as typeof answer;
    } catch {
      // Named below with what it printed.
    }
    if (started.status !== 0 || !answer.resolved || answer.fetched !== false || answer.appPath !== state.appPath) {
      throw new Error(
        `the real ao start did not open the app ao-app installed (${stateFile} names ${state.appPath}): exit ${started.status}, ${(started.stdout + started.stderr).trim().slice(-300)}`,
      );
    }
    return `opened ${answer.appPath} through app-state.json, downloaded nothing (its own download blocked)`;
  },
};

/** The legacy user's journey (installer/cutover), against the release just published. */
const legacyCutover: RehearsalStep = {
  name: 'legacy cutover',
  async run(ctx) {
    const report = await rehearseCutover({ registry: { url: ctx.registry!.url, authToken: ctx.registry!.authToken }, target: ctx.version });
    if (!report.ok) throw new Error(report.problems.join('; '));
    const hops = report.hops.map((h) => `${h.from} -> ${h.to} ${(h.ms / 1000).toFixed(1)} s`).join(', ');
    const sessions = report.sessionImport
      ? `${report.sessionsInRewrite}/${report.sessions} sessions in the rewrite`
      : `${report.sessionsInBundle}/${report.sessions} sessions in the bundle only`;
    return `${hops}; ${report.projectsInRewrite}/${report.projects} projects, ${sessions}, ${report.resumeIdsInBundle} resume ids, daemon healthy, legacy home ${report.legacyHomeUnchanged ? 'unchanged' : 'CHANGED'}`;
  },
};

/**
 * The real rewrite (linux-x64 hosts): its published 0.10.3 binary is refused as unstamped, then
 * released with the recorded override into the embedded registry, installed globally with npm
 * twice (scripts blocked: our launcher runs it; scripts allowed: the binary is swapped in) and
 * asked `ao version`, `ao --version`, `ao doctor --json` each way.
 */
const realRewrite: RehearsalStep = {
  name: 'real rewrite 0.10.3',
  async run(ctx) {
    if (!canRunRealRewrite) return `skipped: the real binary exists for linux-x64 only, this host is ${process.platform}-${process.arch}`;
    const workDir = join(ctx.workDir, 'real-rewrite');
    const refusal = await expectUnstampedRefusal({ workDir });
    const release = await publishRealRewriteRelease({
      registry: { url: ctx.registry!.url, token: ctx.registry!.authToken },
      workDir,
      ...(ctx.shippedDir ? { shippedDir: ctx.shippedDir } : {}),
    });
    const lines = [
      `expected refusal without the override: ${refusal}`,
      overrideLine(release.staged)!,
      `published ${release.record.packages.map((p) => `${p.name}@${p.version}`).join(', ')} under ${release.record.tag}`,
    ];
    for (const w of (await verify({ stageDir: release.stageDir, matrix: release.matrix })).warnings) lines.push(`warning: ${w.package}: ${w.reason}`);
    for (const scripts of [false, true]) {
      const sandbox = createSandbox({ registry: ctx.registry!.url, name: `rehearsal-real-${scripts ? 'scripts' : 'noscripts'}` });
      ctx.cleanups.push(() => sandbox.cleanup());
      const facts = await installAndRunFirstCommands(release.spec, sandbox, scripts);
      const wrong = facts.runs.filter((r) => r.status !== 0 || r.via !== (scripts ? 'native binary' : 'launcher'));
      if (wrong.length > 0) throw new Error(`${facts.install}: ${wrong.map((r) => `${r.command} exited ${r.status} via ${r.via}`).join('; ')}`);
      lines.push(describeInstall(facts));
    }
    return lines.join('\n');
  },
};

/**
 * The same journey into the REAL rewrite (@aoagents/ao@0.10.3 wrapping the published linux-x64 binary, its
 * unstamped `dev` recorded as the release's override), in a registry of its own: the bridge there pins 0.10.3.
 */
const legacyCutoverReal: RehearsalStep = {
  name: 'legacy cutover, real',
  async run(ctx) {
    if (!canRunRealRewrite) return 'skipped: the real rewrite binary exists for linux-x64 only';
    const registry = await startEmbeddedRegistry();
    try {
      await publishRealRewriteRelease({ registry: { url: registry.url, token: registry.authToken }, workDir: join(ctx.workDir, 'real-rewrite-cutover') });
      const report = await rehearseCutover({ registry, target: REAL_REWRITE.version, targetReports: REAL_REWRITE.reportedVersion });
      if (!report.ok) throw new Error(report.problems.join('; '));
      const hops = report.hops.map((h) => `${h.from} -> ${h.to} ${(h.ms / 1000).toFixed(1)} s`).join(', ');
      return `${hops}; ${report.projectsInRewrite}/${report.projects} projects in its ao project ls, ${report.sessionsInBundle}/${report.sessions} sessions (${report.resumeIdsInBundle} resume ids) kept in the bundle, daemon healthy, legacy home unchanged`;
    } finally {
      await registry.stop();
    }
  },
};

export const REHEARSAL_STEPS: RehearsalStep[] = [
  buildBinaries,
  buildApps,
  stageRelease,
  verifyStaged,
  startRegistry,
  publishStaged,
  verifyResolution,
  installGlobally,
  runInstalled,
  fetchApp,
  realStartFindsApp,
  realRewrite,
  legacyCutover,
  legacyCutoverReal,
];

export async function rehearse(
  options: { steps?: RehearsalStep[]; version?: string; shippedDir?: string; log?: (line: string) => void } = {},
): Promise<{ ok: boolean; results: StepResult[]; ctx: RehearsalContext }> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const workDir = join(OUT_DIR, 'rehearsal');
  await rm(workDir, { recursive: true, force: true });
  const ctx: RehearsalContext = {
    version: options.version ?? '0.10.0',
    matrix: loadMatrix(),
    workDir,
    cleanups: [],
    ...(options.shippedDir ? { shippedDir: options.shippedDir } : {}),
  };
  const results: StepResult[] = [];
  try {
    for (const step of options.steps ?? REHEARSAL_STEPS) {
      const started = performance.now();
      log(`… ${step.name}`);
      try {
        const detail = await step.run(ctx);
        results.push({ name: step.name, ok: true, ms: performance.now() - started, detail });
      } catch (err) {
        results.push({ name: step.name, ok: false, ms: performance.now() - started, detail: formatError(err, step.name) });
        return { ok: false, results, ctx };
      }
    }
    return { ok: true, results, ctx };
  } finally {
    for (const cleanup of ctx.cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
}

/** The report a release engineer reads: steps with timings, then every package. */
export function formatReport(results: StepResult[], ctx: RehearsalContext): string {
  const lines = ['', 'step                        result   time      detail'];
  for (const r of results)
    lines.push(
      `${r.name.padEnd(28)}${(r.ok ? 'ok' : 'FAILED').padEnd(9)}${`${(r.ms / 1000).toFixed(2)} s`.padEnd(10)}${r.detail.split('\n').join('\n' + ' '.repeat(47))}`,
    );
  if (ctx.staged) {
    lines.push('', 'package                          tarball    binary     ratio  integrity');
    for (const p of ctx.staged.packages) {
      const ratio = p.binarySize ? (p.size / p.binarySize).toFixed(2) : '';
      lines.push(
        `${p.name.padEnd(33)}${kib(p.size).padEnd(11)}${(p.binarySize ? kib(p.binarySize) : '').padEnd(11)}${ratio.padEnd(7)}${p.integrity.slice(0, 30)}…`,
      );
    }
  }
  return lines.join('\n');
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ok, results, ctx } = await rehearse();
  process.stdout.write(`${formatReport(results, ctx)}\n`);
  const failed = results.find((r) => !r.ok);
  process.stdout.write(
    ok ? `\nrehearsal passed in ${(results.reduce((s, r) => s + r.ms, 0) / 1000).toFixed(1)} s\n` : `\nrehearsal FAILED at step "${failed?.name}"\n`,
  );
  process.exit(ok ? 0 : 1);
}
