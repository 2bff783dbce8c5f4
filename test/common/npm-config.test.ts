import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npmFlatOptions } from '../../common/npm-config.js';

describe('npmFlatOptions', () => {
  // npm runs a script of `npm rebuild --offline=false --strict-ssl=false` with npm_config_offline= and
  // npm_config_strict_ssl= (a boolean set back to false is exported empty), over a user npmrc that says true.
  const withUserNpmrc = (text: string, env: NodeJS.ProcessEnv) => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-npm-config-'));
    writeFileSync(join(dir, 'user-npmrc'), text);
    return npmFlatOptions({ cwd: dir, npmPath: dir, env: { PATH: process.env.PATH, HOME: dir, npm_config_userconfig: join(dir, 'user-npmrc'), ...env } });
  };

  it('reads a boolean npm exported empty as false, over an npmrc that sets it true', async () => {
    const flat = await withUserNpmrc('offline=true\nstrict-ssl=true\n', { npm_config_offline: '', npm_config_strict_ssl: '' });
    expect([flat.offline, flat.strictSSL]).toEqual([false, false]);
  });

  it('keeps the npmrc where npm exported nothing, and leaves an empty string setting unset', async () => {
    const flat = await withUserNpmrc('offline=true\nregistry=http://127.0.0.1:9/\n', { npm_config_registry: '' });
    expect([flat.offline, flat.registry]).toEqual([true, 'http://127.0.0.1:9/']);
  });
});
