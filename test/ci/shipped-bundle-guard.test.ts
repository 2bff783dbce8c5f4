import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../common/paths.js';

interface ShippedModule {
  bundleEntry: (entry: { in: string; out: string; importMetaUrl?: boolean }, outFile: string, root: string) => Promise<unknown>;
}

// The launcher's two files are built without the import.meta.url banner (a URL object made on every `ao` call): a module
// that still reads it would fail only when its code path ran, as a ReferenceError on a user's machine.
describe('scripts/shipped.mjs bundleEntry', () => {
  it('refuses to build an entry without the import.meta.url banner when a bundled module reads import.meta.url', async () => {
    const { bundleEntry } = (await import(join(REPO_ROOT, 'scripts', 'shipped.mjs'))) as ShippedModule;
    const dir = mkdtempSync(join(tmpdir(), 'ao-shipped-guard-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, 'console.log(new URL(import.meta.url).pathname);\n');
    await expect(bundleEntry({ in: entry, out: 'x.cjs', importMetaUrl: false }, join(dir, 'x.cjs'), REPO_ROOT)).rejects.toThrow(
      /reads import\.meta\.url, which this entry is built without/,
    );
    await expect(bundleEntry({ in: entry, out: 'y.cjs' }, join(dir, 'y.cjs'), REPO_ROOT)).resolves.toBeDefined();
  });
});
