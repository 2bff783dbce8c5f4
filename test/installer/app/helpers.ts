import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import { OUT_DIR, REPO_ROOT } from '../../../common/paths.js';
import type { AppManifest } from '../../../common/app-manifest.js';

export { manifestFor, type ManifestWith } from '../../../rehearsal/app-fixtures.js';

export async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ao-app-${tag}-`));
}

/** Root on Linux can mount a tiny tmpfs: a real full disk, not a stubbed probe. */
export function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'ao-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

interface ShippedModule {
  SHIPPED: Array<{ in: string; out: string }>;
  bundleEntry: (
    entry: { in: string },
    outFile: string,
    root: string,
    define: Record<string, string>,
    options: { testHooks?: boolean; plugins?: Plugin[] },
  ) => Promise<unknown>;
}

/** The ao-app command bundled the way it ships (one CJS file), for child-process tests. */
export async function bundledCli(trustedKeys?: string[]): Promise<string> {
  const out = join(OUT_DIR, 'app-fetcher-test', `${process.pid}`, trustedKeys ? `app-fetcher-keys-${trustedKeys.length}.cjs` : 'app-fetcher.cjs');
  // As the release build does: the trusted keys are compiled in from trusted-keys.json.
  const pinKeys: Plugin = {
    name: 'trusted-keys',
    setup(b) {
      b.onLoad({ filter: /trusted-keys\.json$/ }, () => (trustedKeys ? { contents: JSON.stringify({ keys: trustedKeys }), loader: 'json' } : undefined));
    },
  };
  // The release's own bundler and entry (scripts/shipped.mjs), with the test hooks compiled in.
  const { SHIPPED, bundleEntry } = (await import(join(REPO_ROOT, 'scripts', 'shipped.mjs'))) as ShippedModule;
  const entry = SHIPPED.find((e) => e.in === 'installer/app/cli.ts')!;
  await bundleEntry(entry, out, REPO_ROOT, {}, { testHooks: true, plugins: [pinKeys] });
  return out;
}

export async function writeManifest(dir: string, manifest: AppManifest): Promise<string> {
  const path = join(dir, 'ao-manifest.json');
  await writeFile(path, JSON.stringify({ schema: 1, name: '@aoagents/ao', version: manifest.version, binaries: {}, app: manifest }));
  return path;
}
