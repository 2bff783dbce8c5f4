import { describe, expect, it } from 'vitest';
import { exportLegacyHome } from '../../../../installer/cutover/legacy/export.js';
import { CodexIndex, encodeClaudeProjectDir, findClaudeSession } from '../../../../installer/cutover/legacy/resume.js';
import { put, tempHome } from './helpers.js';

const T = Date.parse('2026-04-20T10:00:00Z');
const line = (o: unknown): string => JSON.stringify(o) + '\n';

describe('Claude session uuid', () => {
  it('encodes the worktree as Claude Code names its project dir', () => {
    expect(encodeClaudeProjectDir('/Users/a/x.y')).toBe('-Users-a-x-y');
    expect(encodeClaudeProjectDir('C:\\Users\\a\\.worktrees\\p')).toBe('C-Users-a--worktrees-p');
  });

  it('picks the newest-mtime *.jsonl, never agent-* logs or other extensions', () => {
    const home = tempHome();
    const dir = `.claude/projects/${encodeClaudeProjectDir('/w/a.b')}`;
    put(home, `${dir}/11111111-old.jsonl`, '{}', T);
    put(home, `${dir}/22222222-new.jsonl`, '{}', T + 5000);
    put(home, `${dir}/agent-33333333.jsonl`, '{}', T + 9000);
    put(home, `${dir}/44444444.json`, '{}', T + 9000);
    expect(findClaudeSession(home, '/w/a.b')).toEqual({ value: '22222222-new' });
    put(home, `${dir}/55555555-newer.jsonl`, '{}', T + 6000);
    expect(findClaudeSession(home, '/w/a.b')).toEqual({ value: '55555555-newer' });
  });

  it('says why there is none: no project dir, or no session file in it', () => {
    const home = tempHome();
    expect(findClaudeSession(home, '/w/x')).toEqual({ missing: expect.stringContaining('no Claude project dir') });
    put(home, `.claude/projects/-w-x/agent-1.jsonl`, '{}');
    expect(findClaudeSession(home, '/w/x')).toEqual({ missing: expect.stringContaining('no Claude session file') });
  });
});

describe('Codex thread id and model', () => {
  it('thread id from payload.id, else payload.threadId, else the entry threadId; model from turn_context, else the first payload.model', () => {
    const home = tempHome();
    put(
      home,
      '.codex/sessions/2026/04/20/a.jsonl',
      line({ type: 'session_meta', payload: { id: 'id-a', threadId: 'not-this', cwd: '/w/a', model: 'first' } }) +
        line({ type: 'turn_context', payload: { model: 'from-turn' } }),
    );
    put(
      home,
      '.codex/sessions/2026/04/20/b.jsonl',
      line({ type: 'session_meta', payload: { threadId: 'thr-b', cwd: '/w/b' } }) +
        line({ type: 'event', payload: { model: 'first-seen' } }) +
        line({ type: 'event', payload: { model: 'second' } }),
    );
    put(home, '.codex/sessions/2026/04/20/c.jsonl', line({ type: 'session_meta', threadId: 'entry-c', payload: { cwd: '/w/c' } }));
    const index = new CodexIndex(home);
    expect(index.lookup('/w/a')).toEqual({ value: { threadId: 'id-a', model: 'from-turn' } });
    expect(index.lookup('/w/b')).toEqual({ value: { threadId: 'thr-b', model: 'first-seen' } });
    expect(index.lookup('/w/c')).toEqual({ value: { threadId: 'entry-c' } });
  });

  it('finds a turn_context model past the first 10 lines of the chosen rollout', () => {
    const home = tempHome();
    const filler = Array.from({ length: 30 }, () => line({ type: 'response_item', payload: {} })).join('');
    put(
      home,
      '.codex/sessions/x.jsonl',
      line({ type: 'session_meta', payload: { id: 't', cwd: '/w', model: 'meta-model' } }) +
        filler +
        line({ type: 'turn_context', payload: { model: 'late' } }),
    );
    expect(new CodexIndex(home).lookup('/w')).toEqual({ value: { threadId: 't', model: 'late' } });
  });

  it('newest mtime wins; session_meta must be in the first 10 lines; the cwd must match exactly; at most 4 dir levels deep', () => {
    const home = tempHome();
    put(home, '.codex/sessions/2026/04/01/old.jsonl', line({ type: 'session_meta', payload: { id: 'old', cwd: '/w' } }), T);
    put(home, '.codex/sessions/2026/04/02/new.jsonl', line({ type: 'session_meta', payload: { id: 'new', cwd: '/w' } }), T + 1000);
    put(home, '.codex/sessions/2026/04/03/late-meta.jsonl', '{}\n'.repeat(10) + line({ type: 'session_meta', payload: { id: 'late', cwd: '/w' } }), T + 9000);
    put(home, '.codex/sessions/a/b/c/d/e/deep.jsonl', line({ type: 'session_meta', payload: { id: 'deep', cwd: '/w' } }), T + 9000);
    put(home, '.codex/sessions/2026/04/04/other.jsonl', line({ type: 'session_meta', payload: { id: 'other', cwd: '/w/' } }), T + 9000);
    put(home, '.codex/sessions/2026/04/05/torn.jsonl', '{"type":"session_meta","payload":{"id":"torn","cwd":"/w"', T + 9000);
    expect(new CodexIndex(home).lookup('/w')).toEqual({ value: { threadId: 'new' } });
  });
});

describe('resume ids in the export', () => {
  it('carries valid opencode ids, derives Claude and Codex ids, and records why a session has none', async () => {
    const home = tempHome();
    const B = '.agent-orchestrator/projects/p/sessions';
    put(home, `${B}/oc-1.json`, JSON.stringify({ agent: 'opencode', opencodeSessionId: 'ses_Ab-9_z' }));
    put(home, `${B}/oc-2.json`, JSON.stringify({ agent: 'opencode', opencodeSessionId: 'ses bad' }));
    put(home, `${B}/oc-3.json`, JSON.stringify({ agent: 'opencode' }));
    put(home, `${B}/cl-1.json`, JSON.stringify({ agent: 'claude-code', worktree: '/w/cl.1' }));
    put(home, `${B}/cl-2.json`, JSON.stringify({ agent: 'claude-code', worktree: '/w/none' }));
    put(home, `${B}/cx-1.json`, JSON.stringify({ agent: 'codex', worktree: '/w/cx' }));
    put(home, `${B}/ai-1.json`, JSON.stringify({ agent: 'aider', worktree: '/w/cl.1' }));
    put(home, `${B}/cu-1.json`, JSON.stringify({ agent: 'cursor', worktree: '/w/cl.1' }));
    put(home, `${B}/nw-1.json`, JSON.stringify({ agent: 'claude-code' }));
    put(home, '.claude/projects/-w-cl-1/uuid-1.jsonl', '{}');
    put(
      home,
      '.codex/sessions/r.jsonl',
      line({ type: 'session_meta', payload: { id: 'thread-1', cwd: '/w/cx' } }) + line({ type: 'turn_context', payload: { model: 'gpt-5-codex' } }),
    );
    const { bundle, report } = await exportLegacyHome({ home, env: {} });
    const s = Object.fromEntries(bundle.sessions.map((x) => [x.id, { resume: x.resume, missing: x.resumeMissing }]));
    expect(s['oc-1']).toEqual({ resume: { opencodeSessionId: 'ses_Ab-9_z' }, missing: undefined });
    expect(s['oc-2']).toEqual({ resume: {}, missing: 'opencodeSessionId "ses bad" is not a ses_ id' });
    expect(s['oc-3']).toEqual({ resume: {}, missing: 'opencode session id was not stored' });
    expect(s['cl-1']).toEqual({ resume: { claudeSessionUuid: 'uuid-1' }, missing: undefined });
    expect(s['cl-2']!.missing).toMatch(/no Claude project dir .*-w-none/);
    expect(s['cx-1']).toEqual({ resume: { codexThreadId: 'thread-1', codexModel: 'gpt-5-codex' }, missing: undefined });
    expect(s['ai-1']).toEqual({ resume: {}, missing: 'agent aider has no resume id' });
    expect(s['cu-1']).toEqual({ resume: {}, missing: 'agent cursor has no resume id' });
    expect(s['nw-1']!.missing).toBe('no worktree recorded, so no agent session to look up');
    expect(report.resumeIds).toEqual({ claude: 1, codex: 1, opencode: 1 });
    expect(report.withoutResumeId.sort()).toEqual(['p/ai-1', 'p/cl-2', 'p/cu-1', 'p/nw-1', 'p/oc-2', 'p/oc-3']);
    expect(bundle.sessions.find((x) => x.id === 'oc-2')!.extra.opencodeSessionId).toBe('ses bad');
  });
});
