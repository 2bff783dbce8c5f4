import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Generation } from '../../installer/cutover/legacy/bundle.js';
import { dismissLegacyNotice } from '../../common/legacy-notice-dismissal.js';
import { legacyHomeHasProjects, legacyNotice, NOTICE_INTERVAL_MS } from '../../postinstall/legacy-notice.js';
import { generateLegacyHome } from '../../rehearsal/legacy-home.js';
import { createSandbox, type Sandbox } from '../../rehearsal/sandbox.js';

function terminal(isTTY = true) {
  const s = { isTTY, text: '', write: (t: string) => (s.text += t) };
  return s;
}

const DAY = NOTICE_INTERVAL_MS;
const asRoot = process.getuid?.() === 0;
const T = Date.parse('2026-06-01T09:00:00Z');

describe('the legacy-home notice', () => {
  let sandbox: Sandbox;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    sandbox = createSandbox({ name: 'legacy-notice' });
    env = { HOME: sandbox.home, PATH: process.env.PATH };
  });
  afterEach(() => sandbox.cleanup());

  it.each<Generation>(['v1a', 'v1b', 'v2', 'v0'])(
    'a %s home that nothing imported: shown on stderr, naming ao-legacy-import, at most once a day',
    (generation) => {
      generateLegacyHome(sandbox.home, { projects: 2, sessionsPerProject: 3, generations: [generation] });
      const err = terminal();
      expect(legacyNotice('launch', env, err, T)).toBe(true);
      expect(err.text).toContain(`${join(sandbox.home, '.agent-orchestrator')}`);
      expect(err.text).toMatch(/^ {2}import them .*: {2}ao-legacy-import$/m);
      expect(legacyNotice('launch', env, err, T + 60_000)).toBe(false);
      expect(legacyNotice('launch', env, err, T + DAY - 1000)).toBe(false);
      expect(legacyNotice('launch', env, err, T + DAY + 1000)).toBe(true);
    },
  );

  it('silent once the import record exists, as the cutover and ao-legacy-import write it last', () => {
    generateLegacyHome(sandbox.home, { projects: 2, sessionsPerProject: 2 });
    mkdirSync(join(sandbox.home, '.ao', 'legacy'), { recursive: true });
    writeFileSync(join(sandbox.home, '.ao', 'legacy', 'imported.json'), JSON.stringify({ schemaVersion: 1, via: 'ao update' }));
    const err = terminal();
    expect(legacyNotice('launch', env, err, T)).toBe(false);
    expect(err.text).toBe('');
  });

  it('silent after `ao-legacy-import dismiss`, with AO_NO_LEGACY_NOTICE=1, in CI, and when stderr is not a terminal, unless AO_LEGACY_NOTICE=1', () => {
    generateLegacyHome(sandbox.home, { projects: 2, sessionsPerProject: 2 });
    const shows = (e: NodeJS.ProcessEnv, tty = true) => {
      const err = terminal(tty);
      const shown = legacyNotice('launch', e, err, T);
      expect(err.text === '').toBe(!shown);
      return shown;
    };
    // Each call below would print (nothing marked it shown) if it were not for the one setting it checks.
    expect(shows({ ...env, AO_NO_LEGACY_NOTICE: '1' })).toBe(false);
    expect(shows({ ...env, CI: 'true' })).toBe(false);
    expect(shows(env, false)).toBe(false);
    expect(shows({ ...env, CI: 'true', AO_LEGACY_NOTICE: '1' }, false)).toBe(true);
    expect(shows({ ...env, AO_LEGACY_NOTICE: '1' })).toBe(false); // shown today already
    dismissLegacyNotice(env);
    expect(legacyNotice('launch', { ...env, AO_LEGACY_NOTICE: '1' }, terminal(), T + 2 * DAY)).toBe(false);
  });

  it('quiet in the postinstall that `ao update` runs (its journal is there), not in a later launch an interrupted cutover left', () => {
    generateLegacyHome(sandbox.home, { projects: 2, sessionsPerProject: 2 });
    mkdirSync(join(sandbox.home, '.ao', 'cutover'), { recursive: true });
    writeFileSync(join(sandbox.home, '.ao', 'cutover', 'journal.json'), JSON.stringify({ schema: 1, status: 'running' }));
    expect(legacyNotice('install', env, terminal(), T)).toBe(false);
    expect(legacyNotice('launch', env, terminal(), T)).toBe(true);
  });

  it('no legacy home, or one without projects: nothing printed and nothing written', () => {
    const err = terminal();
    expect(legacyNotice('launch', env, err, T)).toBe(false);
    mkdirSync(join(sandbox.home, '.agent-orchestrator'));
    writeFileSync(join(sandbox.home, '.agent-orchestrator', 'config.yaml'), 'port: 3000\nprojects: {}\n');
    expect(legacyHomeHasProjects(sandbox.home)).toBe(false);
    expect(legacyNotice('launch', env, err, T)).toBe(false);
    expect(err.text).toBe('');
    expect(existsSync(join(sandbox.home, '.ao'))).toBe(false);
    expect(readdirSync(sandbox.home).sort()).toEqual(['.agent-orchestrator', '.npmrc']);
  });

  // `sudo ao`, or `sudo npm i -g` on macOS, keeps the user's HOME: a root-owned ~/.ao (mode 0700) there locks the
  // user's own ao out of its home. The notice is the home owner's to see, on their own next call.
  it.runIf(asRoot)("as root in another user's home (sudo keeping HOME): silent, and nothing of root's is left there", () => {
    generateLegacyHome(sandbox.home, { projects: 2, sessionsPerProject: 2 });
    chownSync(sandbox.home, 65534, 65534);
    const err = terminal();
    expect(legacyNotice('launch', env, err, T)).toBe(false);
    expect(legacyNotice('install', env, err, T)).toBe(false);
    expect(err.text).toBe('');
    expect(existsSync(join(sandbox.home, '.ao'))).toBe(false);
  });
});
