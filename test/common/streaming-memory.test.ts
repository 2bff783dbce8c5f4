import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { OUT_DIR, REPO_ROOT } from '../../common/paths.js';

// tuneForStreaming changes V8's flags for the whole process: the case runs in a Node of its own, on the module bundled from source.
const MODULE = join(OUT_DIR, 'streaming-memory-test', `${process.pid}`, 'streaming-memory.mjs');

beforeAll(async () => {
  await build({
    entryPoints: [join(REPO_ROOT, 'common', 'streaming-memory.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: MODULE,
    logLevel: 'error',
  });
});

/**
 * Buffers (20 MB) kept alive through two paced minor GCs, so V8 promotes them, then dropped: what is left
 * after 8 MiB more stream (full collections are at least 8 MiB apart). A full collection frees them on
 * a background thread, so the figure is read 100 ms later.
 */
function buffersLeftAfterPromotion(): number {
  const script = `
    const { tuneForStreaming, streamed } = await import(${JSON.stringify(pathToFileURL(MODULE).href)});
    tuneForStreaming();
    let kept = Array.from({ length: 160 }, () => Buffer.alloc(128 << 10, 1));
    streamed(1 << 20);
    streamed(1 << 20);
    kept = undefined;
    for (let i = 0; i < 8; i++) streamed(1 << 20);
    await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(process.memoryUsage().arrayBuffers);
  `;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

describe('streaming memory pacing', () => {
  it('frees promoted chunks once more than 12 MB of them pile up (a minor GC alone keeps them until V8 sees 64 MB more)', () => {
    expect(buffersLeftAfterPromotion()).toBeLessThan(6 << 20);
  });
});
