import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { digestFile } from '../../../common/integrity.js';
import { runCutover } from '../../../installer/cutover/cutover.js';
import { inspectRewrite, legacyFingerprint, stopSandboxDaemon } from '../../../rehearsal/cutover.js';
import { rewritePaths, STORE_FILES } from '../../../installer/cutover/rewrite.js';
import { startDaemon, waitHealthy } from '../../../installer/cutover/steps/health.js';
import { hostFixtureBinary } from '../../../rehearsal/fixture-binaries.js';
import { generateLegacyHome } from '../../../rehearsal/legacy-home.js';
import { canRunRealRewrite, REAL_REWRITE, realRewriteBinary } from '../../support/real-rewrite.js';
import { createSandbox, type Sandbox } from '../../../rehearsal/sandbox.js';

// The cutover's import, health and store steps run directly against a rewrite binary (`ao-legacy-import`
// mode: no package install), the real 0.10.3 and the fixture, each in a sandboxed user.
const sandboxes: Sandbox[] = [];
afterAll(async () => {
  for (const sb of sandboxes) {
    await stopSandboxDaemon(sb);
    sb.cleanup();
  }
});

const HOME = { projects: 3, sessionsPerProject: 3, claude: true, codex: true, opencode: true, corrupt: true, seed: 21 };

async function cutover(ao: string, target: string, argv: string[] = ['--yes'], env: NodeJS.ProcessEnv = {}) {
  const sb = createSandbox({ name: 'direct-cutover' });
  sandboxes.push(sb);
  const facts = generateLegacyHome(sb.home, HOME);
  return { sb, facts, before: await legacyFingerprint(sb.home), run: () => runWith(sb, ao, target, argv, env) };
}

async function runWith(sb: Sandbox, ao: string, target: string, argv: string[], env: NodeJS.ProcessEnv = {}) {
  let text = '';
  const stderr = new Writable({ write: (chunk, _enc, cb) => ((text += chunk), cb()) });
  const code = await runCutover({ mode: 'legacy-import', argv, target, ao, env: { ...sb.env, ...env }, stderr });
  return { code, stderr: text };
}

async function storeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of STORE_FILES) if (existsSync(join(dir, f))) out[f] = (await digestFile(join(dir, f))).integrity;
  return out;
}

const binaries: Array<[string, () => Promise<string>, string, boolean]> = [['the fixture', () => hostFixtureBinary('0.10.0'), '0.10.0', true]];
// Run bare (no package, so no recorded override), the real binary's own version is what it reports: `dev`.
if (canRunRealRewrite) binaries.push(['the real rewrite 0.10.3', realRewriteBinary, REAL_REWRITE.reportedVersion, false]);

describe.each(binaries)('ao-legacy-import into %s', (_name, binary, target, takesSessions) => {
  it('imports, proves what the rewrite holds through its own commands, keeps the bundle, writes the record last', async () => {
    const ao = await binary();
    const { sb, facts, before, run } = await cutover(ao, target);
    const res = await run();
    expect(res.code, res.stderr).toBe(0);
    const paths = rewritePaths(sb.home, sb.env);
    // No daemon left behind: the cutover stops the one it started.
    expect(existsSync(paths.runFile)).toBe(false);
    const record = JSON.parse(await readFile(join(paths.aoHome, 'legacy', 'imported.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({
      schemaVersion: 1,
      legacyHome: join(sb.home, '.agent-orchestrator'),
      via: 'ao-legacy-import',
      projects: facts.projects.length,
      sessions: facts.sessions.size,
      sessionsInRewrite: takesSessions ? facts.sessions.size : 0,
    });
    expect((await stat(join(paths.aoHome, 'legacy', 'imported.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(paths.aoHome, 'legacy'))).mode & 0o777).toBe(0o700);
    const held = await inspectRewrite(sb, facts, ao);
    expect(held.problems).toEqual([]);
    expect(held).toMatchObject({
      daemonHealthy: true,
      projectsInRewrite: facts.projects.length,
      sessionsInBundle: facts.sessions.size,
      sessionImport: takesSessions,
      sessionsInRewrite: takesSessions ? facts.sessions.size : 0,
    });
    expect(held.resumeIdsInBundle).toBe(record.sessionsWithResumeId);
    expect(res.stderr).toContain(`in the new ao: ${facts.projects.length} of ${facts.projects.length} projects`);
    if (!takesSessions)
      expect(res.stderr).toContain(
        `kept only in ${join(paths.aoHome, 'legacy', 'bundle.json')}: ${facts.sessions.size} sessions, ${String(record.sessionsWithResumeId)} of them with an agent resume id`,
      );
    expect(await legacyFingerprint(sb.home)).toBe(before);
  }, 120_000);

  it('a failure after the import rolls back: the store (ao.db, -wal, -shm, left by a killed daemon, in AO_DATA_DIR) byte-identical, no record, no daemon', async () => {
    const ao = await binary();
    const { sb, before, run } = await cutover(ao, target, ['--yes', '--ready-timeout', '0.001']);
    // Where the user pointed the rewrite: the store and run file outside ~/.ao.
    sb.env.AO_DATA_DIR = join(sb.root, 'elsewhere', 'data');
    sb.env.AO_RUN_FILE = join(sb.root, 'elsewhere', 'running.json');
    const paths = rewritePaths(sb.home, sb.env);
    expect(paths.dataDir).toBe(sb.env.AO_DATA_DIR);
    // A store the rewrite itself made and left open: its daemon killed, the WAL trio on disk.
    const daemon = await startDaemon({ ao, paths, env: sb.env, id: 'prior' });
    const { pid } = await waitHealthy({ daemon, paths, timeoutMs: 30_000 });
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
    const { rm } = await import('node:fs/promises');
    await rm(paths.runFile);
    const prior = await storeDigest(paths.dataDir);
    expect(Object.keys(prior).sort()).toEqual(['ao.db', 'ao.db-shm', 'ao.db-wal']);

    const res = await run();
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('did not become ready within 0 s');
    expect(res.stderr).toContain('rolled back');
    expect(await storeDigest(paths.dataDir)).toEqual(prior);
    expect(existsSync(join(paths.aoHome, 'legacy', 'imported.json'))).toBe(false);
    expect(existsSync(join(paths.aoHome, 'legacy', 'bundle.json'))).toBe(false);
    expect(existsSync(paths.runFile)).toBe(false);
    expect(await legacyFingerprint(sb.home)).toBe(before);
    // What the import had made is kept aside, not deleted.
    const backups = await readdir(join(paths.aoHome, 'backups'));
    expect(backups.length).toBe(1);
    expect(existsSync(join(paths.aoHome, 'backups', backups[0]!, 'rolled-back'))).toBe(true);
  }, 120_000);

  it('a legacy project the new ao declines (an id it cannot take) is reported as kept in the bundle, not a failure', async () => {
    const ao = await binary();
    const { sb, facts, run } = await cutover(ao, target);
    await appendFile(join(sb.home, '.agent-orchestrator', 'config.yaml'), '  Bad Id!:\n    path: /nowhere\n');
    const res = await run();
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(
      'kept only in the bundle: project Bad Id!, which the new ao declined (project "Bad Id!" skipped: id is not a valid rewrite project id)',
    );
    expect(res.stderr).toContain(`in the new ao: ${facts.projects.length} of ${facts.projects.length + 1} projects`);
  }, 120_000);

  it('a daemon the user already runs is left alone and the cutover refused, naming it', async () => {
    const ao = await binary();
    const { sb, run } = await cutover(ao, target);
    const paths = rewritePaths(sb.home, sb.env);
    const daemon = await startDaemon({ ao, paths, env: sb.env, id: 'users' });
    const { pid } = await waitHealthy({ daemon, paths, timeoutMs: 30_000 });
    const res = await run();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`an ao daemon is already running (pid ${pid}, port ${daemon.port})`);
    expect(existsSync(join(paths.aoHome, 'backups'))).toBe(false);
    process.kill(pid, 0); // still running
    process.kill(pid, 'SIGTERM');
  }, 60_000);
});

// Node reads the environment as UTF-8: a home folder named under a Latin-1 locale (`/home/jos\xe9`) arrives as
// `/home/jos\uFFFD`, another folder. There the cutover found no legacy home, imported nothing, made a ~/.ao in that other
// folder and ended exit 0, the user's legacy projects never imported; an AO_RUN_FILE so named hid the daemon the user runs,
// and an AO_DATA_DIR so named took the import into a store the user's ao never opens.
describe.runIf(process.platform !== 'win32')('a HOME, AO_RUN_FILE or AO_DATA_DIR whose bytes are not UTF-8', () => {
  it.each(['HOME', 'AO_RUN_FILE', 'AO_DATA_DIR'])('%s: refused before anything is made, saying so, where the cutover had gone on, exit 0', async (variable) => {
    const ao = await hostFixtureBinary('0.10.0');
    const { sb } = await cutover(ao, '0.10.0');
    // A folder named by its bytes (through a shell: Node writes its strings as UTF-8); for HOME, the legacy home moved there.
    const latin1 = `"$(printf '%s/jos\\351' "$1")"`;
    execFileSync('sh', ['-c', variable === 'HOME' ? `mv "$2" ${latin1}` : `mkdir ${latin1}`, 'sh', sb.root, sb.home]);
    // What Node reads from those bytes.
    const named = join(sb.root, 'jos\uFFFD');
    const res = await runWith(sb, ao, '0.10.0', ['--yes'], {
      [variable]: { HOME: named, AO_RUN_FILE: join(named, 'running.json'), AO_DATA_DIR: join(named, 'data') }[variable],
    });
    expect(res.stderr).toContain('not UTF-8');
    expect(res.code, res.stderr).toBe(2);
    expect(existsSync(named)).toBe(false);
    expect(existsSync(join(sb.home, '.ao'))).toBe(false);
  });
});

describe('the health step refuses a daemon that is not the one it started, healthy (fixture faults)', () => {
  const cases: Array<[string, string]> = [
    ['wrong-version', '`ao version` says 0.0.1, expected 0.10.0'],
    ['wrong-pid', "something else answers on the new daemon's port"],
    ['crash', 'the new ao daemon exited during start-up'],
  ];
  it.each(cases)(
    '%s: rolled back with the reason, no daemon left',
    async (fault, reason) => {
      const ao = await hostFixtureBinary('0.10.0');
      const { sb, before, run } = await cutover(ao, '0.10.0', ['--yes'], { AO_FIXTURE_FAULT: fault });
      const res = await run();
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toContain(reason);
      expect(res.stderr).toContain('rolled back');
      const paths = rewritePaths(sb.home, sb.env);
      expect(existsSync(paths.runFile)).toBe(false);
      expect(existsSync(join(paths.aoHome, 'legacy', 'imported.json'))).toBe(false);
      expect(await legacyFingerprint(sb.home)).toBe(before);
    },
    60_000,
  );
});
