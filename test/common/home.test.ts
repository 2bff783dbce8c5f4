import { userInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { expandHome, homeDir } from '../../common/home.js';
import { cacheRoot } from '../../postinstall/locations.js';

describe.runIf(process.platform !== 'win32')('the home folder', () => {
  const saved = process.env.HOME;
  afterEach(() => {
    process.env.HOME = saved;
  });

  it('is HOME when it is set', () => {
    expect(homeDir({ HOME: '/srv/someone' })).toBe('/srv/someone');
  });

  // os.homedir() reads this process's HOME, and answers an empty one with '', which made every path below the home
  // relative to the working folder.
  it("is the passwd entry's folder when HOME is empty (HOME= in a unit file) or unset", () => {
    process.env.HOME = '';
    expect(homeDir(process.env)).toBe(userInfo().homedir);
    delete process.env.HOME;
    expect(homeDir(process.env)).toBe(userInfo().homedir);
  });
});

// cmd.exe's `set AO_CACHE_DIR="C:\Users\Ann Bo\ao"` keeps the quotes in the value; no Windows name holds one.
describe('a Windows setting set with quotes', () => {
  it('names the path inside them, for AO_CACHE_DIR and AO_APP_DIR (and AO_BINARY_PATH: win32-x64.foreign.ts)', () => {
    const env = { USERPROFILE: 'C:\\Users\\Ann Bo' };
    expect(cacheRoot({ ...env, AO_CACHE_DIR: '"D:\\ao cache"' }, 'win32')).toBe('D:\\ao cache');
    expect(expandHome('"~\\ao app"', env, 'win32')).toBe('C:\\Users\\Ann Bo\\ao app');
    // Elsewhere a quote is a character a name may hold.
    expect(expandHome('"x"', { HOME: '/h' }, 'linux')).toBe('"x"');
    // `set AO_APP_DIR=""`, a usual mistake for clearing it: no path at all, which had named the working folder (ao-app
    // installed there, exit 0); left as it is, a name no Windows folder may have, never the working folder.
    expect(expandHome('""', env, 'win32')).toBe('""');
  });
});
