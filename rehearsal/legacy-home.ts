import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { BundleResume, Generation } from '../installer/cutover/legacy/bundle.js';

// The legacy naming rules, written out here on purpose rather than imported from the reader,
// so a reader bug cannot make the generated home agree with it.
const sha12 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
const v1aDirName = (configPath: string, projectPath: string): string => `${sha12(dirname(configPath))}-${basename(projectPath)}`;
/** For `https://github.com/acme/<name>` style origins at the repo root only. */
const v1bStorageKey = (httpsOrigin: string): string => sha12(`${httpsOrigin}#`);
const encodeClaudeProjectDir = (posixPath: string): string => posixPath.replace(/[/.]/g, '-');

/**
 * Writes a realistic legacy ao home (every storage generation, Claude and Codex session files, opencode ids,
 * corrupt files, a half-migrated project) and returns the facts an export must reproduce exactly.
 * Shared by the unit tests, the end-to-end import test, the bench and the release rehearsal: no vitest here.
 */
export interface LegacyHomeOptions {
  projects: number;
  sessionsPerProject: number;
  generations?: Generation[];
  corrupt?: boolean;
  claude?: boolean;
  codex?: boolean;
  opencode?: boolean;
  /** Adds a project caught half way through `ao migrate-storage` (needs v1b and v2). Default true. */
  halfMigrated?: boolean;
  seed?: number;
}

export interface ExpectedSession {
  key: string;
  projectId: string;
  id: string;
  generation: Generation;
  agent: string;
  archived: boolean;
  resume: BundleResume;
  /** True when the export must record why there is no resume id. */
  resumeMissing: boolean;
  /** An unknown key the export must carry in `extra`. */
  unknownKey: [string, unknown];
}

export interface LegacyHomeFacts {
  home: string;
  projects: string[];
  sessions: Map<string, ExpectedSession>;
  quarantined: string[];
  supersededByV2: number;
}

const AGENTS = ['claude-code', 'codex', 'opencode', 'claude-code', 'aider', 'codex', 'cursor'];
const DAY = 86_400_000;
const T0 = Date.parse('2026-04-10T08:00:00.000Z');

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function writeAt(path: string, content: string | Buffer, mtimeMs?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (mtimeMs !== undefined) utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
}

const kv = (record: Record<string, string>): string =>
  Object.entries(record)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') + '\n';

export function generateLegacyHome(home: string, options: LegacyHomeOptions): LegacyHomeFacts {
  const generations = options.generations ?? ['v1a', 'v1b', 'v2', 'v0'];
  const rand = prng(options.seed ?? 1);
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const base = join(home, '.agent-orchestrator');
  const configPath = join(base, 'config.yaml');
  const facts: LegacyHomeFacts = { home, projects: [], sessions: new Map(), quarantined: [], supersededByV2: 0 };
  const configProjects: Record<string, Record<string, unknown>> = {};
  let clock = T0;
  const tick = (): number => (clock += 1000);

  /** Claude/Codex/opencode artefacts for one session; returns what the export must find. */
  const agentFiles = (agent: string, worktree: string, n: number): { resume: BundleResume; missing: boolean; opencode?: string } => {
    if (agent === 'claude-code') {
      if (!options.claude) return { resume: {}, missing: true };
      const dir = join(home, '.claude', 'projects', encodeClaudeProjectDir(worktree));
      const newest = uuid();
      const t = tick();
      if (n % 3 === 0) writeAt(join(dir, `${uuid()}.jsonl`), '{"type":"summary"}\n', t - DAY);
      writeAt(join(dir, `${newest}.jsonl`), '{"type":"user","message":{"role":"user","content":"hi"}}\n', t);
      writeAt(join(dir, `agent-${hex(8)}.jsonl`), '{"type":"user"}\n', t + DAY); // sub-agent logs are never resumed
      return { resume: { claudeSessionUuid: newest }, missing: false };
    }
    if (agent === 'codex') {
      if (!options.codex) return { resume: {}, missing: true };
      const threadId = uuid();
      const model = n % 4 === 0 ? 'gpt-5.1-codex-max' : 'gpt-5-codex';
      const t = tick();
      const day = String(1 + (n % 28)).padStart(2, '0');
      const file = (id: string): string => join(home, '.codex', 'sessions', '2026', '04', day, `rollout-2026-04-${day}T10-00-00-${id}.jsonl`);
      const older = uuid();
      writeAt(file(older), JSON.stringify({ type: 'session_meta', payload: { id: older, cwd: worktree } }) + '\n', t - DAY);
      // Vary where the thread id and model live, so every fallback of the legacy rule is exercised.
      const meta = n % 2 === 0 ? { id: threadId, cwd: worktree, instructions: 'x'.repeat(2000) } : { threadId, cwd: worktree, model };
      const lines = [
        { timestamp: '2026-04-10T10:00:00Z', type: 'session_meta', payload: meta },
        { type: 'response_item', payload: { type: 'message', role: 'user' } },
        ...(n % 2 === 0 ? [{ type: 'turn_context', payload: { cwd: worktree, model } }] : []),
      ];
      writeAt(file(threadId), lines.map((l) => JSON.stringify(l)).join('\n') + '\n', t);
      return { resume: { codexThreadId: threadId, codexModel: model }, missing: false };
    }
    if (agent === 'opencode') {
      if (!options.opencode) return { resume: {}, missing: true };
      const id = `ses_${hex(24)}`;
      return { resume: { opencodeSessionId: id }, missing: false, opencode: id };
    }
    return { resume: {}, missing: true }; // aider, cursor
  };

  const expect = (e: Omit<ExpectedSession, 'key'>): void => {
    const key = `${e.projectId}/${e.id}`;
    facts.sessions.set(key, { key, ...e });
  };

  for (let p = 0; p < options.projects; p++) {
    const generation = generations[p % generations.length]!;
    const projectId = generation === 'v2' ? `app${p}_${hex(10)}` : `app${p}`;
    const prefix = `a${p}`;
    const projectPath = join(home, 'code', `app${p}`);
    const originUrl = `git@github.com:acme/app${p}.git`;
    facts.projects.push(projectId);
    const entry: Record<string, unknown> = {
      projectId,
      path: projectPath,
      repo: { owner: 'acme', name: `app${p}`, platform: 'github', originUrl },
      defaultBranch: 'main',
      source: 'cli',
      registeredAt: 1775800000 + p,
      displayName: `App ${p}`,
      sessionPrefix: prefix,
      futureProjectKey: { nested: [p] },
    };
    let v1Dir: string | undefined;
    if (generation === 'v1a') v1Dir = v1aDirName(configPath, projectPath);
    if (generation === 'v1b') {
      const key = v1bStorageKey(`https://github.com/acme/app${p}`); // normalized form of the scp-style originUrl
      v1Dir = key;
      if (p % 2 === 0) entry.storageKey = key; // older homes kept it; newer ones are found by recomputing it
    }
    if (generation !== 'v0') configProjects[projectId] = entry;

    for (let n = 1; n <= options.sessionsPerProject; n++) {
      const orchestrator = n === options.sessionsPerProject && n > 1;
      const id = orchestrator ? (generation === 'v2' ? `${prefix}-orchestrator` : `${prefix}-orchestrator-1`) : `${prefix}-${n}`;
      const agent = AGENTS[(p + n) % AGENTS.length]!;
      const worktree = join(home, '.worktrees', projectId, id);
      const { resume, missing, opencode } = agentFiles(agent, worktree, p * 1000 + n);
      const createdAt = new Date(T0 + n * 60_000).toISOString();
      const terminated = n % 5 === 0;
      const tmuxName = v1Dir ? `${v1Dir.slice(0, 12)}-${id}` : id;
      // The fields every generation writes, in the order the legacy CLI wrote them.
      const common = { worktree, branch: `feat/${n}`, tmuxName, project: projectId, agent, createdAt };
      if (generation === 'v2') {
        const record: Record<string, unknown> = {
          ...common,
          ...(orchestrator ? { role: 'orchestrator' } : {}),
          runtimeHandle: { id: tmuxName, runtimeName: 'tmux', data: { createdAt: T0 } },
          lifecycle: {
            version: 2,
            session: {
              kind: orchestrator ? 'orchestrator' : 'worker',
              state: terminated ? 'terminated' : 'working',
              reason: terminated ? 'manually_killed' : 'task_in_progress',
            },
            pr: { state: 'none' },
            runtime: { state: terminated ? 'missing' : 'alive', tmuxName },
          },
          prAutoDetect: true,
          dashboard: { port: 3000 + p, terminalWsPort: 14800, directTerminalWsPort: 14801 },
          agentReportedState: 'working',
          ...(opencode ? { opencodeSessionId: opencode } : {}),
          futureField: { v: n },
        };
        writeAt(join(base, 'projects', projectId, 'sessions', `${id}.json`), JSON.stringify(record, null, 2));
        expect({ projectId, id, generation, agent, archived: false, resume, resumeMissing: missing, unknownKey: ['futureField', { v: n }] });
      } else {
        const statePayload = {
          version: 2,
          session: { kind: orchestrator ? 'orchestrator' : 'worker', state: 'working' },
          pr: { state: 'open', number: n },
          runtime: { state: 'alive' },
        };
        const record: Record<string, string> = {
          ...common,
          runtimeHandle: JSON.stringify({ id: tmuxName, runtimeName: 'tmux', data: { createdAt: T0 } }),
          stateVersion: '2',
          statePayload: JSON.stringify(statePayload),
          prEnrichment: JSON.stringify({ title: `PR ${n}`, checks: 'passing' }),
          pr: `https://github.com/acme/app${p}/pull/${n}`,
          summary: `Session ${n} = work with an = sign`,
          ...(orchestrator ? { role: 'orchestrator' } : {}),
          ...(opencode ? { opencodeSessionId: opencode } : {}),
          futureKey: `value-${n}`,
        };
        const archived = terminated && generation !== 'v0';
        const sessionsDir = generation === 'v0' ? join(home, '.ao-sessions', projectId) : join(base, v1Dir!, 'sessions');
        const path = archived ? join(sessionsDir, 'archive', `${id}_${new Date(T0 + n * DAY).toISOString().replace(/[:.]/g, '-')}`) : join(sessionsDir, id);
        writeAt(path, `# written by the legacy CLI\n${kv(record)}\n`);
        expect({ projectId, id, generation, agent, archived, resume, resumeMissing: missing, unknownKey: ['futureKey', `value-${n}`] });
      }
    }
    if (v1Dir) {
      writeAt(join(base, v1Dir, '.origin'), configPath);
      writeAt(join(base, v1Dir, `worker-prompt-${prefix}-1.md`), '# prompt\n');
      writeAt(join(base, v1Dir, 'sessions', '.agent-report-audit', `${prefix}-1.ndjson`), '{"accepted":true}\n');
    }
    if (generation === 'v2') writeAt(join(base, 'projects', projectId, 'sessions', `${prefix}-1.json.lock`), '');

    if (options.corrupt && p < generations.length) {
      const bad = (path: string, content: string | Buffer): void => {
        writeAt(path, content);
        facts.quarantined.push(path);
      };
      if (generation === 'v2') {
        const sdir = join(base, 'projects', projectId, 'sessions');
        bad(join(sdir, `${prefix}-broken.json`), '{"worktree": "/tmp/x", ');
        bad(join(sdir, `${prefix}-2.json.corrupt-1776000000000`), 'garbage');
      } else {
        const sdir = generation === 'v0' ? join(home, '.ao-sessions', projectId) : join(base, v1Dir!, 'sessions');
        bad(join(sdir, `${prefix}-garbage`), Buffer.from([0x77, 0x6f, 0x00, 0xff, 0xfe, 0x3d, 0x00, 0x01]));
        bad(join(sdir, 'bad id!'), 'worktree=/tmp/x\n');
      }
    }
  }

  if ((options.halfMigrated ?? true) && generations.includes('v1b') && generations.includes('v2')) halfMigrated();

  const config = {
    port: 3000,
    defaults: { runtime: 'tmux', agent: 'claude-code', workspace: 'worktree' },
    projectOrder: Object.keys(configProjects),
    notifiers: { desktop: { plugin: 'desktop' } },
    someFutureSetting: 42,
    projects: configProjects,
  };
  writeAt(configPath, stringify(config));
  if (options.corrupt) {
    writeAt(join(base, 'running.json'), JSON.stringify({ pid: 2 ** 22 + 12345, configPath, port: 3000, startedAt: T0, projects: facts.projects.slice(0, 2) }));
    writeAt(join(base, 'last-stop.json'), JSON.stringify({ stoppedAt: T0, projectId: facts.projects[0], sessionIds: [] }));
    writeAt(join(base, 'portfolio', 'index.json'), '{}');
  }
  return facts;

  /** A project caught half way through `ao migrate-storage`: V2 records, a stale `.migrated` snapshot, a V1 dir not yet moved. */
  function halfMigrated(): void {
    const projectId = 'halfway';
    const path = join(home, 'code', 'halfway');
    const key = v1bStorageKey('https://github.com/acme/halfway');
    const otherKey = hex(12);
    facts.projects.push(projectId);
    configProjects[projectId] = { projectId, path, repo: { originUrl: 'https://github.com/acme/halfway' }, sessionPrefix: 'hw' };
    // Only the saved pre-migration config still knows the storage key; the second dir is found by its `project=` keys.
    writeAt(`${configPath}.pre-migration`, stringify({ projects: { [projectId]: { path, storageKey: key } } }));
    writeAt(join(base, '.migration-in-progress'), String(T0));
    const v1 = (dir: string, id: string, extra: Record<string, string> = {}): void =>
      writeAt(join(base, dir, 'sessions', id), kv({ worktree: join(home, '.worktrees', projectId, id), agent: 'aider', project: projectId, ...extra }));
    // The snapshot: hw-1 and hw-2 were migrated (V2 wins); hw-2 of the second dir became hw-2__from-{key}.
    v1(`${key}.migrated`, 'hw-1', { branch: 'stale' });
    v1(`${key}.migrated`, 'hw-2', { branch: 'stale' });
    v1(`${otherKey}.migrated`, 'hw-2', { branch: 'stale-other', project: projectId });
    facts.supersededByV2 += 3;
    // Not migrated yet: only V1 knows hw-9.
    v1(otherKey, 'hw-9', { futureKey: 'kept' });
    expect({ projectId, id: 'hw-9', generation: 'v1b', agent: 'aider', archived: false, resume: {}, resumeMissing: true, unknownKey: ['futureKey', 'kept'] });
    for (const id of ['hw-1', 'hw-2', `hw-2__from-${otherKey}`]) {
      writeAt(
        join(base, 'projects', projectId, 'sessions', `${id}.json`),
        JSON.stringify({ worktree: join(home, '.worktrees', projectId, id), agent: 'aider', branch: 'fresh', migratedBy: 'ao migrate-storage' }),
      );
      expect({
        projectId,
        id,
        generation: 'v2',
        agent: 'aider',
        archived: false,
        resume: {},
        resumeMissing: true,
        unknownKey: ['migratedBy', 'ao migrate-storage'],
      });
    }
  }
}
