import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Generation } from '../../../../installer/cutover/legacy/bundle.js';
import { exportLegacyHome } from '../../../../installer/cutover/legacy/export.js';
import { runResumeCommand, runSessionsCommand } from '../../../../installer/cutover/legacy/guide/cli.js';
import type { SessionsReport, SessionView } from '../../../../installer/cutover/legacy/guide/sessions.js';
import { resumeGuideNote } from '../../../../installer/cutover/legacy/guide/summary.js';
import { generateLegacyHome, type ExpectedSession, type LegacyHomeFacts } from '../../../../rehearsal/legacy-home.js';
import { createSandbox, type Sandbox } from '../../../../rehearsal/sandbox.js';
import { treeDigest } from './helpers.js';

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

async function cli(run: typeof runSessionsCommand, argv: string[], env: NodeJS.ProcessEnv) {
  const stdout = sink();
  const stderr = sink();
  const code = await run(argv, { env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The command each agent documents for resuming, built from the generator's facts (not from the code under test). */
function expectedArgv(e: ExpectedSession): string[] | null {
  if (e.resume.claudeSessionUuid) return ['claude', '--resume', e.resume.claudeSessionUuid];
  if (e.resume.codexThreadId) return ['codex', 'resume', e.resume.codexThreadId, '--model', e.resume.codexModel!];
  if (e.resume.opencodeSessionId) return ['opencode', '--session', e.resume.opencodeSessionId];
  return null;
}

const worktreeOf = (home: string, e: ExpectedSession) => join(home, '.worktrees', e.projectId, e.id);

const GENERATIONS: Array<{ name: string; generations: Generation[] }> = [
  { name: 'V1a (hashed config dir)', generations: ['v1a'] },
  { name: 'V1b (storage key)', generations: ['v1b'] },
  { name: 'V2 (projects/ JSON)', generations: ['v2'] },
  { name: 'V0 (~/.ao-sessions)', generations: ['v0'] },
  { name: 'every generation at once, half migrated', generations: ['v1a', 'v1b', 'v2', 'v0'] },
];

describe.each(GENERATIONS)('ao-legacy-import sessions and resume on a $name home', ({ generations }) => {
  let sandbox: Sandbox;
  let facts: LegacyHomeFacts;
  let report: SessionsReport;
  let listed: Map<string, SessionView>;
  let before: string;

  beforeAll(async () => {
    sandbox = createSandbox({ name: 'legacy-guide' });
    facts = generateLegacyHome(sandbox.home, {
      projects: 4,
      sessionsPerProject: 7,
      generations,
      corrupt: true,
      claude: true,
      codex: true,
      opencode: true,
      seed: generations.length * 7,
    });
    // Most worktrees still exist on Monday; every third was removed.
    let n = 0;
    for (const e of facts.sessions.values()) if (n++ % 3 !== 2) mkdirSync(worktreeOf(sandbox.home, e), { recursive: true });
    before = treeDigest(sandbox.root);
    const out = await cli(runSessionsCommand, ['--json'], sandbox.env);
    expect(out.code, out.stderr).toBe(0);
    report = JSON.parse(out.stdout);
    listed = new Map(report.projects.flatMap((p) => p.sessions).map((v) => [v.key, v]));
  });

  afterAll(() => sandbox?.cleanup());

  it('lists every legacy session with the resume id and command its agent documents; none invented', () => {
    expect(report.source.kind).toBe('legacy-home');
    expect([...listed.keys()].sort()).toEqual([...facts.sessions.keys()].sort());
    for (const [key, e] of facts.sessions) {
      const v = listed.get(key)!;
      const argv = expectedArgv(e);
      expect({ key, agent: v.agent, resume: v.resume, argv: v.command?.argv ?? null }).toEqual({ key, agent: e.agent, resume: e.resume, argv });
      if (argv) expect(v.resumeMissing).toBeNull();
      else expect(v.resumeMissing, key).toMatch(/\S/);
      expect(v.worktree).toBe(worktreeOf(sandbox.home, e));
    }
    const withId = [...facts.sessions.values()].filter((e) => expectedArgv(e)).length;
    expect(report.counts).toEqual({
      projects: new Set([...facts.sessions.values()].map((e) => e.projectId)).size,
      sessions: facts.sessions.size,
      withResumeId: withId,
      withoutResumeId: facts.sessions.size - withId,
    });
  });

  it('resume prints `cd <worktree> && <command>` for every session with an id (warning how to recreate a missing worktree); the others fail naming why', async () => {
    for (const [key, e] of facts.sessions) {
      const out = await cli(runResumeCommand, [key], sandbox.env);
      const argv = expectedArgv(e);
      if (!argv) {
        expect({ key, code: out.code, stdout: out.stdout }).toEqual({ key, code: 1, stdout: '' });
        expect(out.stderr).toContain(`${key} has no resume id`);
        continue;
      }
      expect({ key, code: out.code, stdout: out.stdout }).toEqual({ key, code: 0, stdout: `cd ${worktreeOf(sandbox.home, e)} && ${argv.join(' ')}\n` });
      if (listed.get(key)!.worktreeExists) expect(out.stderr).toBe('');
      else {
        expect(out.stderr).toContain(`the worktree of ${key} is missing`);
        expect(out.stderr).toContain(`worktree add ${worktreeOf(sandbox.home, e)} `);
      }
    }
  });

  it('reads only: the whole sandbox (home, legacy files, agent files) is byte for byte what it was', () => {
    expect(treeDigest(sandbox.root)).toBe(before);
  });
});

describe('the bundle the cutover kept', () => {
  let sandbox: Sandbox;
  let facts: LegacyHomeFacts;
  let bundleText: string;
  const kept = () => join(sandbox.home, '.ao', 'legacy', 'bundle.json');

  beforeAll(async () => {
    sandbox = createSandbox({ name: 'legacy-guide-bundle' });
    facts = generateLegacyHome(sandbox.home, { projects: 4, sessionsPerProject: 6, claude: true, codex: true, opencode: true, seed: 5 });
    const { bundle } = await exportLegacyHome({ home: sandbox.home, env: sandbox.env });
    bundleText = JSON.stringify(bundle);
    // After a cutover the legacy home may be gone; the kept bundle still holds every resume id.
    rmSync(join(sandbox.home, '.agent-orchestrator'), { recursive: true });
    rmSync(join(sandbox.home, '.ao-sessions'), { recursive: true, force: true });
  });

  afterAll(() => sandbox?.cleanup());

  const put = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text, { mode: 0o600 });
  };

  it('is read from ~/.ao/legacy/bundle.json, with every resume id', async () => {
    put(kept(), bundleText);
    const out = await cli(runSessionsCommand, ['--json'], sandbox.env);
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as SessionsReport;
    expect(report.source).toEqual({ kind: 'bundle', path: kept() });
    const got = new Map(report.projects.flatMap((p) => p.sessions).map((v) => [v.key, v.resume]));
    expect(got).toEqual(new Map([...facts.sessions].map(([k, e]) => [k, e.resume])));
  });

  it('an unknown schema version is refused by name, nothing printed on stdout', async () => {
    put(kept(), JSON.stringify({ ...JSON.parse(bundleText), version: 2 }));
    const out = await cli(runSessionsCommand, ['--json'], sandbox.env);
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 1, stdout: '' });
    expect(out.stderr).toContain(`the legacy bundle ${kept()} has schema version 2`);
    expect(out.stderr).toContain('a newer ao wrote it');
    put(kept(), JSON.stringify({ ...JSON.parse(bundleText), format: 'something-else' }));
    expect((await cli(runSessionsCommand, [], sandbox.env)).stderr).toContain('is not a legacy bundle');
  });

  it('a bundle kept only in the newest cutover backup is found there', async () => {
    rmSync(join(sandbox.home, '.ao', 'legacy'), { recursive: true, force: true });
    put(join(sandbox.home, '.ao', 'backups', 'legacy-2026-05-01T10-00-00-000Z', 'legacy-bundle.json'), '{"format":"ao-legacy-bundle","version":2}');
    const newest = join(sandbox.home, '.ao', 'backups', 'legacy-2026-05-02T10-00-00-000Z', 'legacy-bundle.json');
    put(newest, bundleText);
    const out = await cli(runSessionsCommand, ['--json', '--agent', 'codex'], sandbox.env);
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as SessionsReport;
    expect(report.source).toEqual({ kind: 'backup', path: newest });
    expect(
      report.projects
        .flatMap((p) => p.sessions)
        .map((v) => v.key)
        .sort(),
    ).toEqual(
      [...facts.sessions.values()]
        .filter((e) => e.agent === 'codex')
        .map((e) => e.key)
        .sort(),
    );
  });

  it('no bundle and no legacy home: a clear error, exit 1', async () => {
    rmSync(join(sandbox.home, '.ao'), { recursive: true, force: true });
    const out = await cli(runSessionsCommand, [], sandbox.env);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no legacy sessions to list');
  });
});

describe('resume --run', () => {
  let sandbox: Sandbox;
  let facts: LegacyHomeFacts;
  let fakeBin: string;
  let record: string;

  beforeAll(() => {
    sandbox = createSandbox({ name: 'legacy-guide-run' });
    facts = generateLegacyHome(sandbox.home, { projects: 3, sessionsPerProject: 6, generations: ['v2'], claude: true, codex: true, opencode: true, seed: 9 });
    for (const e of facts.sessions.values()) mkdirSync(worktreeOf(sandbox.home, e), { recursive: true });
    // Stand-ins for the agent CLIs: they record how they were started and exit with a chosen code.
    fakeBin = join(sandbox.root, 'fake-bin');
    record = join(sandbox.root, 'started.json');
    mkdirSync(fakeBin);
    for (const cli of ['claude', 'codex', 'opencode']) {
      const file = join(fakeBin, cli);
      writeFileSync(
        file,
        `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ cli: ${JSON.stringify(cli)}, argv: process.argv.slice(2), cwd: process.cwd() }));\nprocess.exit(Number(process.env.FAKE_EXIT || 0));\n`,
      );
      chmodSync(file, 0o755);
    }
  });

  afterAll(() => sandbox?.cleanup());

  const first = (agent: string) => [...facts.sessions.values()].find((e) => e.agent === agent)!;

  it.each(['claude-code', 'codex', 'opencode'])(
    'starts %s in the worktree with the resume id as arguments, and passes its exit code through',
    async (agent) => {
      const e = first(agent);
      const out = await cli(runResumeCommand, [e.key, '--run'], { ...sandbox.env, PATH: `${fakeBin}:/usr/bin:/bin`, FAKE_EXIT: '7' });
      expect(out.code, out.stderr).toBe(7);
      const started = JSON.parse(readFileSync(record, 'utf8'));
      expect(started).toEqual({ cli: expectedArgv(e)![0], argv: expectedArgv(e)!.slice(1), cwd: worktreeOf(sandbox.home, e) });
    },
  );

  it('a missing agent CLI is named with how to install it, exit 1', async () => {
    const e = first('codex');
    const out = await cli(runResumeCommand, [e.key, '--run'], { ...sandbox.env, PATH: '/nonexistent' });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('codex is not installed (not found on PATH)');
    expect(out.stderr).toContain('npm install -g @openai/codex');
  });

  it('a missing worktree is not run in: exit 1, naming the git command that recreates it', async () => {
    const e = first('claude-code');
    rmSync(worktreeOf(sandbox.home, e), { recursive: true });
    rmSync(record, { force: true });
    const out = await cli(runResumeCommand, [e.key, '--run'], { ...sandbox.env, PATH: `${fakeBin}:/usr/bin:/bin` });
    mkdirSync(worktreeOf(sandbox.home, e), { recursive: true });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`the worktree of ${e.key} is missing`);
    expect(out.stderr).toContain(`git -C ${join(sandbox.home, 'code')}/`);
    expect(existsSync(record)).toBe(false);
  });

  it('a session with no agent recorded and ids for two agents: the configured agent decides, else resume asks which; --agent picks', async () => {
    const { bundle } = await exportLegacyHome({ home: sandbox.home, env: sandbox.env });
    const s = bundle.sessions.find((x) => x.agent === 'claude-code')!;
    delete s.agent;
    s.resume.codexThreadId = '0199a213-81c0-7800-8aa1-bbab2a035a53';
    const env = { ...sandbox.env, HOME: join(sandbox.root, 'other-home') };
    const keep = (b: typeof bundle) => {
      mkdirSync(join(env.HOME, '.ao', 'legacy'), { recursive: true });
      writeFileSync(join(env.HOME, '.ao', 'legacy', 'bundle.json'), JSON.stringify(b));
    };
    const key = `${s.projectId}/${s.id}`;
    const claudeLine = `cd ${s.worktree} && claude --resume ${s.resume.claudeSessionUuid}\n`;
    const codexLine = `cd ${s.worktree} && codex resume 0199a213-81c0-7800-8aa1-bbab2a035a53\n`;
    // The generated config says `defaults.agent: claude-code`, as the legacy CLI would have started.
    expect((bundle.config!.data.defaults as { agent: string }).agent).toBe('claude-code');
    keep(bundle);
    expect((await cli(runResumeCommand, [key], env)).stdout).toBe(claudeLine);
    delete (bundle.config!.data.defaults as { agent?: string }).agent;
    keep(bundle);
    const both = await cli(runResumeCommand, [key], env);
    expect({ code: both.code, stdout: both.stdout }).toEqual({ code: 1, stdout: '' });
    expect(both.stderr).toContain(`${key} has resume ids for claude-code and codex`);
    expect((await cli(runResumeCommand, [key, '--agent', 'codex'], env)).stdout).toBe(codexLine);
    const listed = JSON.parse((await cli(runSessionsCommand, ['--json'], env)).stdout) as SessionsReport;
    const view = listed.projects.flatMap((p) => p.sessions).find((v) => v.key === key)!;
    expect({ command: view.command, agents: view.commands.map((c) => c.agent), missing: view.resumeMissing }).toEqual({
      command: null,
      agents: ['claude-code', 'codex'],
      missing: null,
    });
  });

  it('a session without a resume id is not started: exit 1, saying which and why', async () => {
    const e = first('aider');
    rmSync(record, { force: true });
    const out = await cli(runResumeCommand, [e.key, '--run'], { ...sandbox.env, PATH: `${fakeBin}:/usr/bin:/bin` });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${e.key} has no resume id`);
    expect(out.stderr).toContain('agent aider has no resume id');
  });

  it('usage errors exit 2', async () => {
    expect((await cli(runResumeCommand, [], sandbox.env)).code).toBe(2);
    expect((await cli(runSessionsCommand, ['--bogus'], sandbox.env)).code).toBe(2);
  });
});

describe('the cutover report', () => {
  it('names the sessions with a resume id and the command that lists them when the rewrite did not take sessions', () => {
    expect(resumeGuideNote({ sessions: 12, sessionsWithResumeId: 8, sessionsInRewrite: 0 })).toBe(
      '  8 of your 12 legacy sessions have an agent resume id that ao did not import; list them, with the command that resumes each: ao-legacy-import sessions',
    );
    expect(resumeGuideNote({ sessions: 12, sessionsWithResumeId: 8, sessionsInRewrite: 12 })).toBeUndefined();
    expect(resumeGuideNote({ skipped: 'no legacy home' })).toBeUndefined();
  });
});
