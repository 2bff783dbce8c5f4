import { builtinModules } from 'node:module';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list } from 'tar';
import { describe, expect, it } from 'vitest';
import { buildBridge, CUTOVER_BUNDLE } from '../../../release/bridge.js';

describe('the 0.9.6 bridge package', () => {
  it('carries the cutover as one file pinned to the exact target, needing nothing but Node built-ins at run time', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ao-bridge-test-'));
    const built = await buildBridge({ version: '0.9.6', target: '0.10.0', outDir: out });
    const entries: string[] = [];
    await list({ file: built.tarball, onReadEntry: (e) => entries.push(e.path) });
    expect(entries).toEqual(expect.arrayContaining(['package/package.json', 'package/bin/ao.js', `package/${CUTOVER_BUNDLE}`]));
    const bundle = await readFile(join(built.dir, CUTOVER_BUNDLE), 'utf8');
    expect(bundle).toContain('"0.10.0"');
    expect(bundle).not.toContain('__AO_CUTOVER_TARGET__');
    // The install step replaces this package on disk mid-run: any require of a file would break then.
    const required = [...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!.replace(/^node:/, ''));
    const builtins = new Set(builtinModules);
    expect(required.filter((r) => !builtins.has(r))).toEqual([]);
    expect(JSON.parse(await readFile(join(built.dir, 'package.json'), 'utf8'))).toMatchObject({
      name: '@aoagents/ao',
      version: '0.9.6',
      aoCutoverTarget: '0.10.0',
    });
  });

  it('refuses a target that is a tag or a range', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ao-bridge-test-'));
    await expect(buildBridge({ version: '0.9.6', target: 'latest', outDir: out })).rejects.toThrow(/not an exact version/);
    await expect(buildBridge({ version: '0.9.6', target: '^0.10.0', outDir: out })).rejects.toThrow(/not an exact version/);
  });
});
