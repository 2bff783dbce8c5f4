import { userInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { homeDir } from '../../common/home.js';

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
