import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../../common/process-identity.js';
import { versionFromOutput } from '../../../common/version-output.js';
import { importCapabilities, rewritePaths } from '../../../installer/cutover/rewrite.js';
import { runCommand } from '../../../installer/cutover/run.js';
import { freePort } from '../../../common/free-port.js';
import { DAEMON_SERVICE, startDaemon, stopStartedDaemon, waitHealthy, type StartedDaemon } from '../../../installer/cutover/steps/health.js';
import { hostFixtureBinary } from '../../../rehearsal/fixture-binaries.js';
import { generateLegacyHome, type LegacyHomeFacts } from '../../../rehearsal/legacy-home.js';
import { canRunRealRewrite, realRewriteBinary } from '../../support/real-rewrite.js';
import { createSandbox, type Sandbox } from '../../../rehearsal/sandbox.js';

// The same contract checks against the real rewrite (@aoagents/ao-linux-x64@0.10.3) and the Go fixture,
// so the fixture cannot drift from what the real binary does (docs/rewrite-contract.md).
const binaries: Array<[string, () => Promise<string>]> = [['the Go fixture', () => hostFixtureBinary('0.10.0')]];
if (canRunRealRewrite) binaries.push(['the real rewrite 0.10.3', realRewriteBinary]);

describe.each(binaries)('the rewrite contract: %s', (_name, binary) => {
  let ao: string;
  let sb: Sandbox;
  let facts: LegacyHomeFacts;
  let daemon: StartedDaemon | undefined;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCommand(ao, args, { env: { ...sb.env, ...env }, cwd: sb.home, timeoutMs: 60_000 });
  const json = async (args: string[]) => {
    const res = await run(args);
    expect(res.code, `ao ${args.join(' ')}: ${res.stderr}`).toBe(0);
    return JSON.parse(res.stdout) as Record<string, unknown>;
  };
  const paths = () => rewritePaths(sb.home, sb.env);

  beforeAll(async () => {
    ao = await binary();
    sb = createSandbox({ name: 'rewrite-contract' });
    facts = generateLegacyHome(sb.home, { projects: 3, sessionsPerProject: 2, claude: true, codex: true, opencode: true, seed: 11 });
  }, 180_000);

  afterAll(async () => {
    if (daemon) await stopStartedDaemon({ ao, daemon, paths: paths(), env: sb.env }).catch(() => undefined);
    sb?.cleanup();
  });

  it('prints its version in the two forms the toolkit parses', async () => {
    const flag = await run(['--version']);
    const command = await run(['version']);
    expect(flag.stdout).toMatch(/^ao version \S+\n$/);
    expect(versionFromOutput(command.stdout)).toBe(versionFromOutput(flag.stdout));
  });

  it('status and stop --json with no daemon: stopped, naming the run file and data dir, creating nothing', async () => {
    const where = { runFile: join(sb.home, '.ao', 'running.json'), dataDir: join(sb.home, '.ao', 'data') };
    expect(await json(['status', '--json'])).toEqual({ state: 'stopped', ...where });
    expect(await json(['stop', '--json'])).toEqual({ state: 'stopped', ...where });
    expect(existsSync(join(sb.home, '.ao'))).toBe(false);
    const listed = await run(['project', 'ls', '--json']);
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/AO daemon is not running/);
  });

  it('ao import: --from/--dry-run/--yes/--json, the report shape, idempotent', async () => {
    const caps = await importCapabilities(ao, sb.env);
    expect(caps.fromDir).toBe(true);
    const from = join(sb.home, '.agent-orchestrator');
    expect(await json(['import', '--from', from, '--dry-run', '--json'])).toEqual({
      dryRun: true,
      projectsImported: facts.projects.length,
      projectsSkipped: 0,
    });
    expect(await json(['import', '--from', from, '--yes', '--json'])).toEqual({ dryRun: false, projectsImported: facts.projects.length, projectsSkipped: 0 });
    expect(await json(['import', '--from', from, '--yes', '--json'])).toEqual({ dryRun: false, projectsImported: 0, projectsSkipped: facts.projects.length });
    const usage = await run(['import', '--no-such-flag']);
    expect(usage.code).toBe(2);
    const badPort = await run(['status', '--json'], { AO_PORT: '0' });
    expect([badPort.code, badPort.stderr]).toEqual([1, 'invalid AO_PORT 0: out of range 1-65535\n']);
  });

  it('a legacy project whose id the rewrite cannot take is skipped with a note naming it', async () => {
    const other = createSandbox({ name: 'rewrite-contract-ids' });
    try {
      const base = join(other.home, '.agent-orchestrator');
      await mkdir(base, { recursive: true });
      await writeFile(join(base, 'config.yaml'), 'projects:\n  ok:\n    path: /x\n  "Bad Id!":\n    path: /y\n');
      const res = await runCommand(ao, ['import', '--dry-run', '--json'], { env: other.env, cwd: other.home });
      expect(JSON.parse(res.stdout)).toEqual({
        dryRun: true,
        projectsImported: 1,
        projectsSkipped: 0,
        notes: ['project "Bad Id!" skipped: id is not a valid rewrite project id'],
      });
    } finally {
      other.cleanup();
    }
  });

  it('ao daemon on AO_PORT: running.json 0600, /healthz and /readyz naming the service and pid, status ready', async () => {
    daemon = await startDaemon({ ao, paths: paths(), env: sb.env, id: 'contract' });
    const { pid, port } = await waitHealthy({ daemon, paths: paths(), timeoutMs: 30_000 });
    expect(port).toBe(daemon.port);
    const runFile = join(sb.home, '.ao', 'running.json');
    expect((await stat(runFile)).mode & 0o777).toBe(0o600);
    const info = JSON.parse(await readFile(runFile, 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({ pid, port });
    expect(Number.isNaN(Date.parse(info.startedAt as string))).toBe(false);
    for (const [path, status] of [
      ['healthz', 'ok'],
      ['readyz', 'ready'],
    ] as const) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/${path}`)).json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status, service: DAEMON_SERVICE, pid });
      expect(Object.keys(body).sort()).toEqual(['executablePath', 'pid', 'service', 'status', 'workingDirectory']);
    }
    expect(await json(['status', '--json'])).toMatchObject({ state: 'ready', pid, port, health: 'ok', ready: 'ready' });
    // The store is open while the daemon runs: three files.
    expect((await readdir(join(sb.home, '.ao', 'data'))).filter((f) => f.startsWith('ao.db')).sort()).toEqual(['ao.db', 'ao.db-shm', 'ao.db-wal']);
  });

  it('while the daemon runs: import refused (exit 2, the message), project and session ls through it', async () => {
    const refused = await run(['import', '--from', join(sb.home, '.agent-orchestrator'), '--yes', '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^the AO daemon is running \(pid \d+\); stop it first with `ao stop` before importing\n$/);
    const projects = (await json(['project', 'ls', '--json'])).projects as Array<Record<string, unknown>>;
    expect(projects.map((p) => p.id).sort()).toEqual([...facts.projects].sort());
    for (const p of projects) expect(p).toMatchObject({ name: p.id, kind: 'single_repo', sessionPrefix: expect.any(String) });
    // The real rewrite imports no sessions: none are listed after a projects-only import.
    expect(await json(['session', 'ls', '--json'])).toEqual({ data: [], meta: { hiddenTerminatedCount: 0 } });
  });

  it('ao stop --json stops it: pid gone, running.json removed, store checkpointed', async () => {
    const pid = daemon!.pid!;
    expect(await json(['stop', '--json'])).toEqual({ state: 'stopped', runFile: join(sb.home, '.ao', 'running.json'), dataDir: join(sb.home, '.ao', 'data') });
    for (let i = 0; i < 50 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(join(sb.home, '.ao', 'running.json'))).toBe(false);
    expect((await readdir(join(sb.home, '.ao', 'data'))).filter((f) => f.startsWith('ao.db'))).toEqual(['ao.db']);
    daemon = undefined;
  });

  it('a second daemon is refused while one runs; a killed one leaves a stale run file that status names', async () => {
    const first = await startDaemon({ ao, paths: paths(), env: sb.env, id: 'first' });
    daemon = first;
    const { pid } = await waitHealthy({ daemon: first, paths: paths(), timeoutMs: 30_000 });
    const second = await run(['daemon'], { AO_PORT: String(await freePort()) });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`daemon already running (pid ${pid}, port ${first.port}); refusing to start`);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await json(['status', '--json'])).toMatchObject({ state: 'stale', pid, error: 'run-file points to a dead process' });
    // Killed with the store open: the WAL trio stays behind.
    expect((await readdir(join(sb.home, '.ao', 'data'))).filter((f) => f.startsWith('ao.db')).sort()).toEqual(['ao.db', 'ao.db-shm', 'ao.db-wal']);
    expect(await json(['stop', '--json'])).toMatchObject({ state: 'stopped' });
    expect(existsSync(join(sb.home, '.ao', 'running.json'))).toBe(false);
    daemon = undefined;
  });
});
