import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadMatrix } from '../common/matrix.js';
import { startEmbeddedRegistry } from '../release/embedded-registry.js';
import { publish } from '../release/publish.js';
import { stage } from '../release/stage.js';
import { verify } from '../release/verify.js';
import { fixtureBinaries } from '../test/support/fixture-binaries.js';

const exec = promisify(execFile);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/**
 * The release path (stage + verify + publish with resume checks + byte-for-byte fetch-back)
 * against the bare minimum (plain `npm publish` of the same tarballs), each to its own
 * fresh embedded registry, in one run.
 */
export async function run(): Promise<void> {
  const matrix = loadMatrix();
  const version = '0.10.0';
  const binariesDir = await fixtureBinaries(version, matrix.targets);
  const [ours, baseline] = await Promise.all([startEmbeddedRegistry(), startEmbeddedRegistry()]);
  try {
    const stageDir = await mkdtemp(join(tmpdir(), 'ao-bench-stage-'));
    const [staged, stageMs] = await timed(() => stage({ matrix, version, binariesDir, outDir: stageDir }));
    const [, verifyMs] = await timed(() => verify({ stageDir, matrix }));
    const [, publishMs] = await timed(() => publish({ stageDir, registry: { url: ours.url, token: ours.authToken } }));
    const host = baseline.url.replace(/^http:/, '');
    const [, plainMs] = await timed(async () => {
      for (const p of staged.packages) {
        await exec('npm', ['publish', p.tarball, '--tag', 'staging', '--registry', baseline.url, `--${host}:_authToken=${baseline.authToken}`, '--loglevel=error']);
      }
    });
    const total = stageMs + verifyMs + publishMs;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`release path: stage ${s(stageMs)} + verify ${s(verifyMs)} + publish & post-verify ${s(publishMs)} = ${s(total)}`);
    console.log(`plain npm publish of the same ${staged.packages.length} tarballs: ${s(plainMs)}`);
    console.log(`ratio release path / plain publish: ${(total / plainMs).toFixed(2)}x (publish step alone ${(publishMs / plainMs).toFixed(2)}x)`);
    for (const p of staged.packages) {
      const ratio = p.binarySize ? `, ${(p.size / p.binarySize).toFixed(2)} of its ${(p.binarySize / 1024).toFixed(0)} KiB binary` : '';
      console.log(`  ${p.name.padEnd(28)} tarball ${(p.size / 1024).toFixed(0)} KiB${ratio}`);
    }
  } finally {
    await Promise.all([ours.stop(), baseline.stop()]);
  }
}
