import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BinaryEntry } from '../../common/ao-manifest.js';
import { inYarnZip, lockedTarball } from '../../postinstall/resolve.js';

describe('a package inside a zip that Yarn PnP opens', () => {
  // What Yarn PnP's runtime sets; the test process has no PnP of its own.
  beforeAll(() => Object.defineProperty(process.versions, 'pnp', { value: '3', configurable: true }));
  afterAll(() => Reflect.deleteProperty(process.versions, 'pnp'));

  it("is one in Yarn's cache zip", () => {
    expect(inYarnZip('/home/u/.yarn/berry/cache/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e-10c0.zip/node_modules/@aoagents/ao-linux-x64')).toBe(true);
  });

  // Refused as zipped on every call, with a fix (unplug it) that changes nothing.
  it('is not one unplugged into a project whose folder is named like a zip', () => {
    expect(inYarnZip('/home/u/work/app.zip/.yarn/unplugged/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e/node_modules/@aoagents/ao-linux-x64')).toBe(false);
  });
});

// The fallback fetch takes the lockfile's tarball only for exactly the release's platform package: another version's
// tarball would fail the manifest's hashes after its download, and an entry without integrity cannot be fetched as
// `npm ci` does (by integrity, from the cache).
describe("the lockfile's tarball of the platform package", () => {
  const entry = { package: '@aoagents/ao-linux-x64', version: '0.10.0' } as BinaryEntry;
  const TARBALL = 'https://registry.example/@aoagents/ao-linux-x64/-/ao-linux-x64-0.10.0.tgz';
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ao-locked-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** A project `name` whose lockfile records ao at its own path and `platform` under `key`; ao's folder in it. */
  const projectWith = (name: string, key: string, platform: Record<string, unknown>) => {
    const packages = { '': {}, 'node_modules/@aoagents/ao': { version: '0.10.0' }, [key]: platform };
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }));
    return join(root, name, 'node_modules', '@aoagents', 'ao');
  };

  it('is the entry of that version, with its integrity, and the folder its file: paths are relative to', () => {
    const pkg = projectWith('hoisted', 'node_modules/@aoagents/ao-linux-x64', { version: '0.10.0', resolved: TARBALL, integrity: 'sha512-AAAA' });
    expect(lockedTarball(pkg, entry)).toEqual({ resolved: TARBALL, integrity: 'sha512-AAAA', where: join(root, 'hoisted') });
  });

  it('is found nested under ao (npm nests it when another version is hoisted)', () => {
    const pkg = projectWith('nested', 'node_modules/@aoagents/ao/node_modules/@aoagents/ao-linux-x64', {
      version: '0.10.0',
      resolved: TARBALL,
      integrity: 'sha512-BBBB',
    });
    expect(lockedTarball(pkg, entry)?.integrity).toBe('sha512-BBBB');
  });

  it('is none for another version of the package', () => {
    const pkg = projectWith('other-version', 'node_modules/@aoagents/ao-linux-x64', { version: '0.9.0', resolved: TARBALL, integrity: 'sha512-AAAA' });
    expect(lockedTarball(pkg, entry)).toBeUndefined();
  });

  it('is none for an entry without integrity', () => {
    const pkg = projectWith('no-integrity', 'node_modules/@aoagents/ao-linux-x64', { version: '0.10.0', resolved: TARBALL });
    expect(lockedTarball(pkg, entry)).toBeUndefined();
  });
});
