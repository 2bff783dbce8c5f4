import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBundle, type LegacyBundle } from '../../../../installer/cutover/legacy/bundle.js';
import { exportLegacyHome, hasLegacyHome, type ExportReport } from '../../../../installer/cutover/legacy/export.js';
import { rewritePaths } from '../../../../installer/cutover/rewrite.js';
import { startDaemon, stopStartedDaemon, waitHealthy } from '../../../../installer/cutover/steps/health.js';
import { hostFixtureBinary } from '../../../../rehearsal/fixture-binaries.js';
import { generateLegacyHome, type LegacyHomeFacts } from '../../../../rehearsal/legacy-home.js';
import { createSandbox, type Sandbox } from '../../../../rehearsal/sandbox.js';
import { treeDigest } from './helpers.js';

const run = promisify(execFile);

describe('a generated legacy home through export and the real fixture import', () => {
  let sandbox: Sandbox;
  let facts: LegacyHomeFacts;
  let bundle: LegacyBundle;
  let report: ExportReport;
  let bundleFile: string;
  let ao: string;
  let before: { base: string; claude: string; codex: string; v0: string };
  const aoRun = async (...args: string[]) => JSON.parse((await run(ao, args, { env: sandbox.env })).stdout);

  beforeAll(async () => {
    sandbox = createSandbox({ name: 'legacy-import' });
    ao = await hostFixtureBinary('0.10.0');
    facts = generateLegacyHome(sandbox.home, { projects: 12, sessionsPerProject: 8, corrupt: true, claude: true, codex: true, opencode: true, seed: 42 });
    const digest = () => ({
      base: treeDigest(join(sandbox.home, '.agent-orchestrator')),
      claude: treeDigest(join(sandbox.home, '.claude')),
      codex: treeDigest(join(sandbox.home, '.codex')),
      v0: treeDigest(join(sandbox.home, '.ao-sessions')),
    });
    before = digest();
    ({ bundle, report } = await exportLegacyHome({ home: sandbox.home, env: sandbox.env }));
    expect(digest()).toEqual(before); // reading never writes: same paths, modes, sizes, mtimes and bytes
    bundleFile = join(sandbox.root, 'bundle.json');
    writeFileSync(bundleFile, JSON.stringify(bundle));
  });

  afterAll(() => sandbox?.cleanup());

  it('exports exactly the generated sessions, resume ids and quarantined files, and the bundle validates', () => {
    expect(hasLegacyHome(sandbox.home)).toBe(true);
    expect(validateBundle(JSON.parse(JSON.stringify(bundle)))).toBeTruthy();
    const got = new Map(bundle.sessions.map((s) => [`${s.projectId}/${s.id}`, s]));
    expect([...got.keys()].sort()).toEqual([...facts.sessions.keys()].sort());
    for (const [key, e] of facts.sessions) {
      const s = got.get(key)!;
      expect({
        key,
        generation: s.generation,
        agent: s.agent,
        archived: s.archived ?? false,
        resume: s.resume,
        missing: s.resumeMissing !== undefined,
      }).toEqual({
        key,
        generation: e.generation,
        agent: e.agent,
        archived: e.archived,
        resume: e.resume,
        missing: e.resumeMissing,
      });
      expect(s.extra[e.unknownKey[0]]).toEqual(e.unknownKey[1]);
    }
    expect(bundle.quarantine.map((q) => q.path).sort()).toEqual([...facts.quarantined].sort());
    expect(report.quarantined).toBe(facts.quarantined.length);
    expect(report.supersededByV2).toBe(facts.supersededByV2);
    expect(bundle.projects.map((p) => p.id).sort()).toEqual([...facts.projects].sort());
    expect(bundle.source.generations).toEqual(['v0', 'v1a', 'v1b', 'v2']);
    expect(bundle.config!.data.someFutureSetting).toBe(42);
  });

  it('a rewrite that offers session import (the fixture) takes every session with its resume ids, idempotently', async () => {
    const first = await aoRun('import', '--sessions-from', bundleFile, '--yes', '--json');
    expect(first).toMatchObject({ dryRun: false, sessionsImported: facts.sessions.size, sessionsSkipped: 0 });
    expect(first.resumeIds).toEqual(report.resumeIds);
    const listed = async () => {
      const paths = rewritePaths(sandbox.home, sandbox.env);
      const daemon = await startDaemon({ ao, paths, env: sandbox.env, id: 'import-test' });
      try {
        await waitHealthy({ daemon, paths, timeoutMs: 30_000 });
        return (await aoRun('session', 'ls', '--all', '--include-terminated', '--json')).data as Array<{ id: string; projectId: string; resume: object }>;
      } finally {
        await stopStartedDaemon({ ao, daemon, paths, env: sandbox.env });
      }
    };
    const rows = new Map((await listed()).map((r) => [`${r.projectId}/${r.id}`, r]));
    for (const [key, e] of facts.sessions) {
      expect(rows.get(key), key).toBeDefined();
      expect(rows.get(key)!.resume, key).toEqual(e.resume);
    }
    const second = await aoRun('import', '--sessions-from', bundleFile, '--yes', '--json');
    expect(second).toMatchObject({ sessionsImported: 0, sessionsSkipped: facts.sessions.size });
    expect(new Map((await listed()).map((r) => [`${r.projectId}/${r.id}`, r]))).toEqual(rows);
  });

  it('validateBundle names the bad field', () => {
    const broken = JSON.parse(JSON.stringify(bundle));
    broken.sessions[3].projectId = 42;
    expect(() => validateBundle(broken)).toThrow(/sessions\[3\]\.projectId/);
    expect(() => validateBundle({ ...bundle, format: 'other' })).toThrow(/at format/);
    const noResume = JSON.parse(JSON.stringify(bundle));
    delete noResume.sessions[0].resume;
    expect(() => validateBundle(noResume)).toThrow(/sessions\[0\]\.resume/);
  });
});
