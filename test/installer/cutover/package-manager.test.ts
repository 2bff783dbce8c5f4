import { describe, expect, it } from 'vitest';
import { detectPackageManager, installArgs } from '../../../installer/cutover/package-manager.js';
import { parseFlags } from '../../../installer/cutover/options.js';
import { missingProjects, sessionProblems } from '../../../installer/cutover/steps/reconcile.js';

describe('package manager detection from the installed package real path', () => {
  const env = { HOME: '/home/alice' };
  it.each([
    ['/usr/local/lib/node_modules/@aoagents/ao', 'npm', '/usr/local/lib/node_modules'],
    ['/home/alice/.nvm/versions/node/v20.17.0/lib/node_modules/@aoagents/ao', 'npm', '/home/alice/.nvm/versions/node/v20.17.0/lib/node_modules'],
    ['/opt/homebrew/lib/node_modules/@aoagents/ao', 'npm', '/opt/homebrew/lib/node_modules'],
    [
      '/home/alice/.local/share/pnpm/global/5/.pnpm/@aoagents+ao@0.9.6/node_modules/@aoagents/ao',
      'pnpm',
      '/home/alice/.local/share/pnpm/global/5/node_modules',
    ],
    ['/home/alice/.config/yarn/global/node_modules/@aoagents/ao', 'yarn', '/home/alice/.config/yarn/global/node_modules'],
    ['/home/alice/.bun/install/global/node_modules/@aoagents/ao', 'bun', '/home/alice/.bun/install/global/node_modules'],
  ])('%s -> %s', (path, name, globalRoot) => {
    expect(detectPackageManager(path, env)).toEqual({ name, globalRoot });
  });

  it('a git checkout is not a global install', () => {
    expect(detectPackageManager('/home/alice/src/agent-orchestrator/packages/cli', env)).toBeUndefined();
  });

  it('installs the exact spec it is given, never @latest and never `update`', () => {
    for (const pm of ['npm', 'pnpm', 'yarn', 'bun'] as const) {
      const [, args] = installArgs(pm, '@aoagents/ao@0.10.0');
      expect(args).toContain('@aoagents/ao@0.10.0');
      expect(args.join(' ')).not.toMatch(/latest|update/);
    }
    expect(installArgs('yarn', 'x')).toEqual(['yarn', ['global', 'add', 'x']]);
    expect(installArgs('bun', 'x')).toEqual(['bun', ['add', '-g', 'x']]);
  });
});

describe('flags', () => {
  it('reads the documented flags and names a bad one', () => {
    expect(parseFlags(['--dry-run', '--yes', '--force-migrate', '--ready-timeout', '5'], 'ao update')).toEqual({
      check: true,
      yes: true,
      forceMigrate: true,
      readyTimeoutMs: 5000,
    });
    expect(() => parseFlags(['--ready-timeout', 'soon'], 'ao update')).toThrow(/invalid --ready-timeout "soon"/);
    expect(() => parseFlags(['--latest'], 'ao update')).toThrow(/unknown option --latest/);
  });

  it('names the command the user ran in its usage, ao-legacy-import included', () => {
    expect(() => parseFlags(['--latest'], 'ao-legacy-import')).toThrow(
      expect.objectContaining({ why: 'ao-legacy-import does not take it', fix: expect.stringMatching(/^usage: ao-legacy-import \[--check/) }),
    );
  });
});

describe('reconcile', () => {
  it('names a legacy project the rewrite does not list, and a session or resume id that did not arrive', () => {
    expect(missingProjects(['app0', 'app2_e79b2819bd', 'gone'], [{ id: 'app0' }, { id: 'app2_e79b2819bd' }])).toEqual(['gone']);
    const bundle = {
      sessions: [
        { id: 'a-1', projectId: 'p', resume: { claudeSessionUuid: 'u1' } },
        { id: 'a-2', projectId: 'p', resume: { opencodeSessionId: 'ses_x' } },
        { id: 'a-3', projectId: 'p', resume: {} },
      ],
    } as never;
    const row = (id: string, resume?: object) => ({ id, projectId: 'p', resume: resume as never });
    expect(sessionProblems(bundle, [row('a-1', { claudeSessionUuid: 'u1' }), row('a-2', {}), row('a-3')])).toEqual([
      'p/a-2 has opencodeSessionId undefined, expected "ses_x"',
    ]);
    expect(sessionProblems(bundle, [row('a-1', { claudeSessionUuid: 'u1' })])).toHaveLength(2);
  });
});
