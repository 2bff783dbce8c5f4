import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheRoot, fetchCacheRoot, packageCacheRoot, writableCacheRoot } from '../../postinstall/locations.js';

const asRoot = process.getuid?.() === 0;
const USER = 4242;

describe('the cache ao writes into', () => {
  const root = mkdtempSync(join(tmpdir(), 'ao-locations-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const userHome = join(root, 'home');
  mkdirSync(userHome);
  const env = { HOME: userHome, XDG_CACHE_HOME: join(userHome, '.cache') };

  it("is the user's own cache for a user", () => {
    expect(writableCacheRoot(join(root, 'pkg'), env, USER)).toBe(join(userHome, '.cache', 'ao'));
  });

  // A relative one would put a `.cache/ao/verified` folder into every folder ao is run from; the XDG spec says to ignore it.
  it('ignores a relative XDG_CACHE_HOME, as the XDG spec asks (and Go, which the rewrite is written in, refuses it)', () => {
    expect(cacheRoot({ HOME: userHome, XDG_CACHE_HOME: '.cache' }, 'linux')).toBe(join(userHome, '.cache', 'ao'));
    expect(cacheRoot({ HOME: userHome, XDG_CACHE_HOME: '/var/cache/u' }, 'linux')).toBe(join('/var/cache/u', 'ao'));
  });

  // AO_CACHE_DIR=.ao-cache left a `.ao-cache/verified` folder in every folder ao ran from, and the postinstall fetched
  // into the package's folder a launcher run from anywhere else never found.
  it('ignores a relative AO_CACHE_DIR too: an absolute one wins over XDG_CACHE_HOME', () => {
    expect(cacheRoot({ HOME: userHome, AO_CACHE_DIR: '.ao-cache' }, 'linux')).toBe(join(userHome, '.cache', 'ao'));
    expect(cacheRoot({ HOME: userHome, AO_CACHE_DIR: '/srv/ao-cache', XDG_CACHE_HOME: '/var/cache/u' }, 'linux')).toBe('/srv/ao-cache');
    expect(cacheRoot({ AO_CACHE_DIR: 'C:\\ao-cache', LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toBe('C:\\ao-cache');
  });

  // A `~` no shell expanded (a systemd unit, a .env file, `export AO_CACHE_DIR="~/ao-cache"`): read as the home folder,
  // as AO_APP_DIR and npm's own settings are; it had been ignored as relative, the cache silently elsewhere.
  it('reads a leading ~ in AO_CACHE_DIR as the home folder', () => {
    expect(cacheRoot({ HOME: userHome, AO_CACHE_DIR: '~/ao-cache' }, 'linux')).toBe(join(userHome, 'ao-cache'));
  });

  it.runIf(asRoot)("as root, is never in a folder another user owns: the package's own folder, else root's home", () => {
    chownSync(userHome, USER, USER);
    const rootsPackage = join(root, 'lib', 'node_modules', '@aoagents', 'ao');
    mkdirSync(rootsPackage, { recursive: true });
    expect(writableCacheRoot(rootsPackage, env, 0)).toBe(packageCacheRoot(rootsPackage));
    // Root installing into that user's project: the package folder is theirs too.
    const theirPackage = join(userHome, 'project', 'node_modules', '@aoagents', 'ao');
    expect(writableCacheRoot(theirPackage, env, 0)).toBe(join(userInfo().homedir, '.cache', 'ao'));
    // Root's own HOME: root's own cache, as before.
    const rootHome = join(root, 'root-home');
    mkdirSync(rootHome);
    expect(writableCacheRoot(rootsPackage, { HOME: rootHome }, 0)).toBe(join(rootHome, '.cache', 'ao'));
  });

  it.runIf(asRoot)(
    "as root, a global install fetches into the package's own folder (every user's launcher searches it), a local one into the writable cache",
    () => {
      const rootHome = join(root, 'fetch-root-home');
      mkdirSync(rootHome);
      const rootsPackage = join(root, 'fetch', 'lib', 'node_modules', '@aoagents', 'ao');
      mkdirSync(rootsPackage, { recursive: true });
      expect(fetchCacheRoot(rootsPackage, true, { HOME: rootHome }, 0)).toBe(packageCacheRoot(rootsPackage));
      expect(fetchCacheRoot(rootsPackage, false, { HOME: rootHome }, 0)).toBe(join(rootHome, '.cache', 'ao'));
      expect(fetchCacheRoot(rootsPackage, true, env, USER)).toBe(join(userHome, '.cache', 'ao'));
    },
  );
});
