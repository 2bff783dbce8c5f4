import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadMatrix } from '../common/matrix.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../release/embedded-registry.js';
import { publish } from '../release/publish.js';
import { stage, type StageResult } from '../release/stage.js';
import { verify } from '../release/verify.js';
import { fixtureBinaries } from '../rehearsal/fixture-binaries.js';
import { shippedForTests } from '../rehearsal/release-fixture.js';

const exec = promisify(execFile);
const SAMPLES = Number(process.env.AO_BENCH_SAMPLES ?? 5);
const VERSION = '0.10.0';
/** Each registry already holds this release, as for every release after the first. */
const PREVIOUS = '0.10.1';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${(Math.min(...xs) / 1000).toFixed(2)} to ${(Math.max(...xs) / 1000).toFixed(2)} s`;

/** What a release engineer would type without the tools: `npm publish <tarball>` for each, in order. */
async function npmPublishAll(registry: EmbeddedRegistry, staged: StageResult, tag: string, cache: string): Promise<void> {
  const auth = `--${registry.url.replace(/^http:/, '')}:_authToken=${registry.authToken}`;
  for (const p of staged.packages) {
    await exec('npm', ['publish', p.tarball, '--tag', tag, '--registry', registry.url, auth, '--access', 'public', '--loglevel=error'], {
      env: { ...process.env, npm_config_cache: cache },
    });
  }
}

/**
 * The release path (stage + verify + publish with its resume checks, placeholder checks and the
 * byte-for-byte fetch-back) against plain `npm publish` of the same tarballs. Each sample gets two
 * fresh embedded registries holding the previous release, and the two sides alternate which
 * runs first, so machine noise falls on both alike.
 */
export async function run(): Promise<void> {
  const matrix = loadMatrix();
  const [binaries, previousBinaries, shippedDir] = await Promise.all([
    fixtureBinaries(VERSION, matrix.targets),
    fixtureBinaries(PREVIOUS, matrix.targets),
    shippedForTests(),
  ]);
  const work = await mkdtemp(join(tmpdir(), 'ao-bench-publish-'));
  const previous = await stage({ matrix, version: PREVIOUS, binariesDir: previousBinaries, outDir: join(work, 'previous'), shippedDir });
  const ours: Array<{ stage: number; verify: number; publish: number; total: number }> = [];
  const plain: number[] = [];
  let staged: StageResult | undefined;
  try {
    for (let i = 0; i < SAMPLES; i++) {
      const [a, b] = await Promise.all([startEmbeddedRegistry(), startEmbeddedRegistry()]);
      try {
        await Promise.all([
          npmPublishAll(a, previous, 'latest', join(work, `cache-seed-a-${i}`)),
          npmPublishAll(b, previous, 'latest', join(work, `cache-seed-b-${i}`)),
        ]);
        const releasePath = async () => {
          const stageDir = join(work, `stage-${i}`);
          const s = await timed(async () => (staged = await stage({ matrix, version: VERSION, binariesDir: binaries, outDir: stageDir, shippedDir })));
          const v = await timed(() => verify({ stageDir, matrix }));
          const p = await timed(() => publish({ stageDir, registry: { url: a.url, token: a.authToken } }));
          ours.push({ stage: s, verify: v, publish: p, total: s + v + p });
        };
        const baseline = async () => {
          // The same tarballs: the baseline publishes what the release path staged in this sample, or the last one's.
          const tarballs = staged ?? (await stage({ matrix, version: VERSION, binariesDir: binaries, outDir: join(work, `stage-baseline-${i}`), shippedDir }));
          plain.push(await timed(() => npmPublishAll(b, tarballs, `staging-${VERSION}`, join(work, `cache-plain-${i}`))));
        };
        if (i % 2 === 0) {
          await releasePath();
          await baseline();
        } else {
          await baseline();
          await releasePath();
        }
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const total = ours.map((o) => o.total);
  const part = (k: 'stage' | 'verify' | 'publish') => median(ours.map((o) => o[k]));
  console.log(
    `input: fixture binaries for ${matrix.targets.length} targets (${VERSION}), 7 packages, into embedded Verdaccio registries that hold ${PREVIOUS}; ${SAMPLES} samples, alternating`,
  );
  console.log(
    `release path, median: stage ${s(part('stage'))} + verify ${s(part('verify'))} + publish & fetch-back ${s(part('publish'))} = ${s(median(total))} (spread ${spread(total)})`,
  );
  console.log(`plain npm publish of the same 7 tarballs, median: ${s(median(plain))} (spread ${spread(plain)})`);
  console.log(
    `ratio release path / plain publish: ${(median(total) / median(plain)).toFixed(2)}x (per sample ${total.map((t, i) => (t / plain[i]!).toFixed(2)).join(', ')}; publish step alone ${(part('publish') / median(plain)).toFixed(2)}x)`,
  );
  for (const p of staged?.packages ?? []) {
    const ratio = p.binarySize ? `, ${(p.size / p.binarySize).toFixed(2)} of its ${(p.binarySize / 1024).toFixed(0)} KiB binary` : '';
    console.log(`  ${p.name.padEnd(28)} tarball ${(p.size / 1024).toFixed(0)} KiB${ratio}`);
  }
}
