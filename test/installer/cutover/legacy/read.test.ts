import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { exportLegacyHome, hasLegacyHome } from '../../../../installer/cutover/legacy/export.js';
import { parseKeyValue } from '../../../../installer/cutover/legacy/kv.js';
import { readLegacyHome, v1aDirName, v1bStorageKey, normalizeOrigin } from '../../../../installer/cutover/legacy/read.js';
import { put, tempHome } from './helpers.js';

const B = '.agent-orchestrator';
const byKey = (home: string, env: NodeJS.ProcessEnv = {}) => new Map(readLegacyHome(home, env).sessions.map((s) => [`${s.projectId}/${s.id}`, s]));

describe('the V1 key=value format', () => {
  it('splits at the first =, trims, skips blanks and # lines, ignores lines without =', () => {
    expect(parseKeyValue('a=1\n  b  =  x=y=z  \n\n# c=3\nno equals here\n=orphan\r\nd=\n')).toEqual({ a: '1', b: 'x=y=z', d: '' });
    expect(parseKeyValue('')).toEqual({});
  });

  it('parses the JSON-valued keys, keeps a broken JSON value as written, carries every unknown key', () => {
    const home = tempHome();
    put(
      home,
      `${B}/abcdefabcdef/sessions/ma-3`,
      [
        'worktree=/w/ma-3',
        'runtimeHandle={"id":"abcdefabcdef-ma-3","runtimeName":"tmux","data":{"createdAt":1}}',
        'statePayload={"version":2,"session":{"kind":"worker","state":"working"}}',
        'prEnrichment={"title":"t"}',
        'prReviewComments={"broken":',
        'stateVersion=2',
        'somethingNew=carried',
        'agentReportedState=working',
      ].join('\n'),
    );
    const s = byKey(home).get('abcdefabcdef/ma-3')!;
    expect(s.worktree).toBe('/w/ma-3');
    expect(s.runtimeHandle).toEqual({ id: 'abcdefabcdef-ma-3', runtimeName: 'tmux', data: { createdAt: 1 } });
    expect(s.lifecycle).toEqual({ version: 2, session: { kind: 'worker', state: 'working' } });
    expect(s.extra).toEqual({
      prEnrichment: { title: 't' },
      prReviewComments: '{"broken":',
      stateVersion: '2',
      somethingNew: 'carried',
      agentReportedState: 'working',
    });
    expect(s.generation).toBe('v1b');
    expect(s.role).toBe('worker');
  });

  it('an empty session file is an id reservation: neither a session nor corruption (V1 and V2)', async () => {
    const home = tempHome();
    const v1 = put(home, `${B}/abcdefabcdef/sessions/ma-7`, '');
    put(home, `${B}/abcdefabcdef/sessions/ma-1`, 'worktree=/w/ma-1\n');
    const v2 = put(home, `${B}/projects/app_0123456789/sessions/ap-4.json`, '');
    put(home, `${B}/projects/app_0123456789/sessions/ap-1.json`, '{"worktree":"/w/ap-1"}');
    const read = readLegacyHome(home, {});
    expect(read.sessions.map((s) => s.id).sort()).toEqual(['ap-1', 'ma-1']);
    expect(read.quarantine).toEqual([]);
    expect(read.skipped).toEqual([
      { path: v2, reason: 'empty: a session id reserved by the legacy CLI, never used' },
      { path: v1, reason: 'empty: a session id reserved by the legacy CLI, never used' },
    ]);
    const { bundle, report } = await exportLegacyHome({ home, env: {} });
    expect(report).toMatchObject({ sessions: 2, quarantined: 0, reservations: 2, skipped: 2 });
    expect(bundle.skipped).toHaveLength(2);
  });

  it('a directory named like a session file is reported, not read as a session and not silently passed over', () => {
    const home = tempHome();
    put(home, `${B}/projects/app_0123456789/sessions/ap-2.json/inside`, 'x');
    put(home, `${B}/abcdefabcdef/sessions/ma-2/inside`, 'x');
    const read = readLegacyHome(home, {});
    expect(read.sessions).toEqual([]);
    expect(read.skipped).toEqual([
      { path: join(home, B, 'projects/app_0123456789/sessions/ap-2.json'), reason: 'a directory named like a session file' },
      { path: join(home, B, 'abcdefabcdef/sessions/ma-2'), reason: 'a directory named like a session file' },
    ]);
  });
});

describe('projects of V1 dirs', () => {
  it('maps V1a {H}-{basename} dirs by recomputing H from .origin, V1b by storageKey or by the recomputed origin key', () => {
    const home = tempHome();
    const config = join(home, B, 'config.yaml');
    const a = join(home, 'code', 'alpha');
    const b = join(home, 'code', 'beta');
    const c = join(home, 'code', 'gamma');
    const keyC = v1bStorageKey('git@GitHub.com:Acme/gamma.git/', c);
    put(
      home,
      `${B}/config.yaml`,
      stringify({
        port: 3001,
        projects: {
          alpha: { path: a },
          beta: { path: b, storageKey: '0123456789ab' },
          gamma: { path: c, repo: { originUrl: 'git@GitHub.com:Acme/gamma.git/' } },
        },
      }),
    );
    put(home, `${B}/${v1aDirName(config, a)}/.origin`, config);
    put(home, `${B}/${v1aDirName(config, a)}/sessions/al-1`, 'agent=aider');
    put(home, `${B}/0123456789ab/sessions/be-1`, 'agent=aider');
    put(home, `${B}/${keyC}/sessions/ga-1`, 'agent=aider');
    put(home, `${B}/fedcba987654/sessions/x-1`, 'project=named-in-file');
    put(home, `${B}/aaaaaaaaaaaa-orphan/sessions/o-1`, 'agent=aider');
    expect([...byKey(home).keys()].sort()).toEqual(['aaaaaaaaaaaa-orphan/o-1', 'alpha/al-1', 'beta/be-1', 'gamma/ga-1', 'named-in-file/x-1']);
    expect(byKey(home).get('alpha/al-1')!.generation).toBe('v1a');
  });

  it('maps a {H}-{basename} dir registered from a wrapped local config named by .origin, and carries that config', async () => {
    const home = tempHome();
    const repo = join(home, 'code', 'delta');
    const local = put(home, 'code/delta/agent-orchestrator.yaml', stringify({ projects: { 'delta-app': { path: '.', agent: 'codex' } } }));
    const dir = v1aDirName(local, repo);
    put(home, `${B}/${dir}/.origin`, local);
    put(home, `${B}/${dir}/sessions/de-1`, 'agent=aider\nproject=not-this-one');
    const { bundle } = await exportLegacyHome({ home, env: {} });
    expect(bundle.sessions.map((s) => `${s.projectId}/${s.id}`)).toEqual(['delta-app/de-1']);
    expect(bundle.projects[0]).toMatchObject({
      id: 'delta-app',
      storageDirs: [dir],
      localConfig: { path: local, data: { projects: { 'delta-app': { path: '.', agent: 'codex' } } } },
    });
  });

  it('normalizes origins the way the V1b key did', () => {
    expect(normalizeOrigin('git@GitHub.com:Acme/x.git')).toBe('https://github.com/Acme/x');
    expect(normalizeOrigin('HTTPS://GitHub.com/Acme/x.git/')).toBe('https://github.com/Acme/x');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
    expect(v1bStorageKey(undefined, '/r')).toBe(sha('local:///r#'));
    expect(v1bStorageKey('git@github.com:a/b.git', '/r', 'sub/dir')).toBe(sha('https://github.com/a/b#sub/dir'));
  });
});

describe('archives', () => {
  it('reads sessions/archive/{sid}_{time} as archived, and an archive whose id is live again keeps both', () => {
    const home = tempHome();
    put(home, `${B}/abcdefabcdef/sessions/archive/ma_x-1_2026-04-20T14-30-52-123Z`, 'branch=old');
    put(home, `${B}/abcdefabcdef/sessions/archive/ma-2_2026-04-20T14-30-52-123Z`, 'branch=older');
    put(home, `${B}/abcdefabcdef/sessions/ma-2`, 'branch=new');
    const s = byKey(home);
    expect(s.get('abcdefabcdef/ma_x-1')).toMatchObject({ archived: true, branch: 'old', extra: { archivedAt: '2026-04-20T14-30-52-123Z' } });
    expect(s.get('abcdefabcdef/ma-2')).toMatchObject({ branch: 'new' });
    expect(s.get('abcdefabcdef/ma-2__archive-2026-04-20T14-30-52-123Z')).toMatchObject({ archived: true, branch: 'older', extra: { originalId: 'ma-2' } });
  });
});

describe('V2 and the half-migrated home', () => {
  it('reads projects/{projectId}/sessions/{sid}.json with typed fields and every other key in extra', () => {
    const home = tempHome();
    put(
      home,
      `${B}/projects/my-app_0123456789/sessions/ma-orchestrator.json`,
      JSON.stringify({
        worktree: '/w',
        agent: 'codex',
        lifecycle: { version: 2, session: { kind: 'orchestrator', state: 'working' } },
        runtimeHandle: { id: 'ma-orchestrator', runtimeName: 'tmux', data: {} },
        prAutoDetect: false,
        dashboard: { port: 3000 },
        opencodeSessionId: 'not-a-ses-id',
      }),
    );
    put(home, `${B}/projects/my-app_0123456789/sessions/ma-orchestrator.json.lock`, '');
    const legacy = readLegacyHome(home, {});
    const s = legacy.sessions[0]!;
    expect(s).toMatchObject({ id: 'ma-orchestrator', projectId: 'my-app_0123456789', generation: 'v2', role: 'orchestrator', agent: 'codex' });
    expect(s.extra).toEqual({ prAutoDetect: false, dashboard: { port: 3000 }, opencodeSessionId: 'not-a-ses-id' });
    expect(s.resume).toEqual({});
    expect(legacy.projects.get('my-app_0123456789')!.files).toEqual([join(home, B, 'projects/my-app_0123456789/sessions/ma-orchestrator.json.lock')]);
  });

  it('V2 wins over V1 and .migrated snapshots, including sessions renamed {sid}__from-{hash}; what only V1 knows is kept', () => {
    const home = tempHome();
    put(home, `${B}/config.yaml.pre-migration`, stringify({ projects: { app: { storageKey: '111111111111' } } }));
    put(home, `${B}/.migration-in-progress`, '1');
    put(home, `${B}/111111111111.migrated/sessions/s-1`, 'branch=stale');
    put(home, `${B}/222222222222.migrated/sessions/s-1`, 'branch=stale-other\nproject=app');
    put(home, `${B}/333333333333/sessions/s-2`, 'branch=only-v1\nproject=app');
    put(home, `${B}/projects/app/sessions/s-1.json`, '{"branch":"fresh"}');
    put(home, `${B}/projects/app/sessions/s-1__from-222222222222.json`, '{"branch":"fresh-other"}');
    const legacy = readLegacyHome(home, {});
    expect(Object.fromEntries(legacy.sessions.map((s) => [`${s.projectId}/${s.id}`, s.branch]))).toEqual({
      'app/s-1': 'fresh',
      'app/s-1__from-222222222222': 'fresh-other',
      'app/s-2': 'only-v1',
    });
    expect(legacy.supersededByV2).toHaveLength(2);
    expect(legacy.migrationInProgress).toBe(true);
  });

  it('two V1 dirs with the same session id keep both, the second renamed like the legacy migration did', () => {
    const home = tempHome();
    put(home, `${B}/aaaaaaaaaaaa/sessions/s-1`, 'project=app\nbranch=a');
    put(home, `${B}/bbbbbbbbbbbb/sessions/s-1`, 'project=app\nbranch=b');
    const s = byKey(home);
    expect(s.get('app/s-1')!.branch).toBe('a');
    expect(s.get('app/s-1__from-bbbbbbbbbbbb')).toMatchObject({ branch: 'b', extra: { originalId: 's-1' } });
  });
});

describe('very old homes and the config', () => {
  it('reads ~/.ao-sessions as generation v0', () => {
    const home = tempHome();
    put(home, '.ao-sessions/old-app/oa-1', 'worktree=/w\nagent=aider');
    put(home, '.ao-sessions/oa-2', 'project=flat-app\nagent=aider');
    expect([...byKey(home).values()].map((s) => [`${s.projectId}/${s.id}`, s.generation]).sort()).toEqual([
      ['flat-app/oa-2', 'v0'],
      ['old-app/oa-1', 'v0'],
    ]);
  });

  it('finds the config at $AO_GLOBAL_CONFIG, then $XDG_CONFIG_HOME, then ~/.agent-orchestrator, and carries every key', async () => {
    const home = tempHome();
    put(home, `${B}/config.yaml`, stringify({ port: 1, projects: { base: { path: '/b' } } }));
    put(home, 'xdg/agent-orchestrator/config.yaml', stringify({ port: 2, reactions: { x: [1] }, projects: { xdg: { path: '/x', futureKey: true } } }));
    put(home, 'custom.yaml', stringify({ port: 3, projects: {} }));
    const first = await exportLegacyHome({ home, env: {} });
    expect(first.bundle.config!.data.port).toBe(1);
    const xdg = await exportLegacyHome({ home, env: { XDG_CONFIG_HOME: join(home, 'xdg') } });
    expect(xdg.bundle.config!.data).toEqual({ port: 2, reactions: { x: [1] }, projects: { xdg: { path: '/x', futureKey: true } } });
    expect(xdg.bundle.projects).toEqual([{ id: 'xdg', path: '/x', config: { path: '/x', futureKey: true }, storageDirs: [], files: [] }]);
    const custom = await exportLegacyHome({ home, env: { XDG_CONFIG_HOME: join(home, 'xdg'), AO_GLOBAL_CONFIG: join(home, 'custom.yaml') } });
    expect(custom.bundle.config!.data.port).toBe(3);
  });
});

describe('quarantine', () => {
  it('carries bad JSON, binary garbage, .corrupt-{ms} files, invalid ids and a broken config to the quarantine and counts them', async () => {
    const home = tempHome();
    const bad = [
      put(home, `${B}/config.yaml`, 'projects: [unclosed'),
      put(home, `${B}/projects/p/sessions/s-1.json`, '{"a":'),
      put(home, `${B}/projects/p/sessions/s-2.json`, '[1,2]'),
      put(home, `${B}/projects/p/sessions/s-3.json.corrupt-1776000000000`, '{}'),
      put(home, `${B}/projects/p/sessions/bad.id.json`, '{}'),
      put(home, `${B}/abcdefabcdef/sessions/garbage`, Buffer.from([1, 0, 2, 0xff])),
      put(home, `${B}/abcdefabcdef/sessions/latin1`, Buffer.from([0x61, 0x3d, 0xe9])),
      put(home, `${B}/abcdefabcdef/sessions/archive/not-an-archive-name`, 'x=1'),
      put(home, `${B}/abcdefabcdef/sessions/.DS_Store`, 'x'),
    ];
    put(home, `${B}/projects/p/sessions/ok.json`, '{}');
    const { bundle, report } = await exportLegacyHome({ home, env: {} });
    expect(bundle.quarantine.map((q) => q.path).sort()).toEqual(bad.sort());
    for (const q of bundle.quarantine) expect(q.reason).toMatch(/\S/);
    expect(report.quarantined).toBe(bad.length);
    expect(bundle.sessions.map((s) => s.id)).toEqual(['ok']);
  });
});

describe('an empty or absent home', () => {
  it('has nothing to import and exports an empty, valid bundle', async () => {
    const home = tempHome();
    expect(hasLegacyHome(home)).toBe(false);
    const { bundle, report } = await exportLegacyHome({ home, env: {} });
    expect(bundle).toMatchObject({ format: 'ao-legacy-bundle', version: 1, projects: [], sessions: [], quarantine: [], source: { home, generations: [] } });
    expect(report).toMatchObject({ projects: 0, sessions: 0, quarantined: 0, withoutResumeId: [] });
    put(home, '.ao-sessions/x/s-1', 'agent=aider');
    expect(hasLegacyHome(home)).toBe(true);
  });

  it('lists base-dir entries that are not project storage, and does not read {12hex}-observability as a project', async () => {
    const home = tempHome();
    put(home, `${B}/abcdefabcdef-observability/sessions/s-1`, 'x=1');
    put(home, `${B}/running.json`, '{}');
    put(home, `${B}/plugins/p.js`, '');
    const { bundle } = await exportLegacyHome({ home, env: {} });
    expect(bundle.sessions).toEqual([]);
    expect(bundle.source.otherEntries).toEqual(['abcdefabcdef-observability', 'plugins', 'running.json']);
  });
});
