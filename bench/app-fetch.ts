import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { digestFile } from '../common/integrity.js';
import { CACHE_DIR, REPO_ROOT } from '../common/paths.js';
import type { AppManifest } from '../installer/app/manifest.js';
import { buildAppArtifact } from '../test/support/app-fixtures.js';
import { startFaultServer } from '../test/support/fault-server.js';

/**
 * The desktop app fetcher on a 254 MB macOS-style zip over loopback, side by
 * side with the plain tools in the same run: `curl -o` + `sha512sum` + `unzip`.
 * Also its peak RSS (reported by the child itself) and how many bytes a run
 * SIGKILLed at ~60% makes the server send again, against what remained.
 */
const exec = promisify(execFile);
const SIZE = 254_000_000;
const CLI = join(REPO_ROOT, 'dist', 'shipped', 'app-fetcher.cjs');

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Runs ao-app with a preload that prints the child's own peak RSS at exit. */
function runFetcher(args: string[], reporter: string): { pid: number; done: Promise<{ code: number | null; maxRssKb?: number }> } {
  const child = spawn(process.execPath, ['--require', reporter, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; maxRssKb?: number }>((resolve) =>
    child.on('exit', (code) => {
      const m = /maxRSS=(\d+)/.exec(stderr);
      if (code !== 0 && code !== null) process.stderr.write(stderr);
      resolve({ code, maxRssKb: m ? Number(m[1]) : undefined });
    }),
  );
  return { pid: child.pid!, done };
}

export async function run(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const cached = join(CACHE_DIR, 'bench-app', 'ao-desktop-darwin-arm64.zip');
  if (!existsSync(cached) || (await stat(cached)).size < SIZE) await buildAppArtifact('darwin', cached, SIZE);
  const work = await mkdtemp(join(tmpdir(), 'ao-bench-app-'));
  const server = await startFaultServer();
  try {
    await server.serve('/app.zip', cached);
    const { integrity, size } = await digestFile(cached);
    const manifest: AppManifest = {
      schema: 1,
      version: '0.10.0',
      targets: { 'darwin-arm64': { file: 'ao-desktop-darwin-arm64.zip', format: 'zip', urls: [`${server.url}/app.zip`], size, integrity, unpackedSizeLimit: size * 2 } },
    };
    const manifestFile = join(work, 'ao-manifest.json');
    await writeFile(manifestFile, JSON.stringify({ app: manifest }));
    const reporter = join(work, 'rss.cjs');
    await writeFile(reporter, "process.on('exit', () => require('node:fs').writeSync(2, `maxRSS=${process.resourceUsage().maxRSS}\\n`));\n");
    const args = (root: string) => ['install', '--quiet', '--manifest', manifestFile, '--target', 'darwin-arm64', '--dir', root];

    const [, baseMs] = await timed(async () => {
      const dir = join(work, 'baseline');
      await mkdir(dir, { recursive: true });
      await exec('curl', ['-sf', '-o', join(dir, 'app.zip'), `${server.url}/app.zip`]);
      await exec('sha512sum', [join(dir, 'app.zip')]);
      await exec('unzip', ['-q', join(dir, 'app.zip'), '-d', join(dir, 'unpacked')]);
    });
    await rm(join(work, 'baseline'), { recursive: true, force: true });

    const [result, fetcherMs] = await timed(() => runFetcher(args(join(work, 'root-a')), reporter).done);
    if (result.code !== 0) throw new Error(`ao-app install failed (exit ${result.code})`);
    await rm(join(work, 'root-a'), { recursive: true, force: true });

    // SIGKILL at ~60%: throttle so the kill lands where intended, then resume at full speed.
    const root = join(work, 'root-b');
    const partial = join(root, 'downloads', 'ao-desktop-darwin-arm64.zip.partial');
    const sentBeforeFirst = server.bytesSent('/app.zip');
    server.throttle(150 << 20);
    const first = runFetcher(args(root), reporter);
    while (((await stat(partial).catch(() => undefined))?.size ?? 0) < size * 0.6) await new Promise((r) => setTimeout(r, 10));
    process.kill(first.pid, 'SIGKILL');
    await first.done;
    server.throttle(0);
    const sentBeforeKill = server.bytesSent('/app.zip') - sentBeforeFirst;
    const kept = (await stat(partial)).size;
    const sentBefore = server.bytesSent('/app.zip');
    const resumed = await runFetcher(args(root), reporter).done;
    if (resumed.code !== 0) throw new Error(`resumed ao-app install failed (exit ${resumed.code})`);
    const sentAgain = server.bytesSent('/app.zip') - sentBefore;

    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`app-fetch: ${mb(size)} macOS-style zip over loopback`);
    console.log(`app-fetch:   curl -o + sha512sum + unzip (baseline)  ${s(baseMs)}`);
    console.log(`app-fetch:   ao-app install (fetch+verify+extract)  ${s(fetcherMs)}  (${(fetcherMs / baseMs).toFixed(2)}x the baseline)`);
    // Streamed end to end: Node (~40 MB) + the bundle (~17 MB) + bounded churn (installer/app/memory.ts); does not scale with the artifact.
    console.log(`app-fetch:   ao-app peak RSS                        ${result.maxRssKb ? mb(result.maxRssKb * 1024) : 'n/a'}  (goal: at most 80 MB)`);
    console.log(`app-fetch:   SIGKILL at ${((kept / size) * 100).toFixed(0)}%: ${mb(sentBeforeKill)} sent, ${mb(kept)} kept on disk, ${mb(size - kept)} remained`);
    console.log(`app-fetch:   bytes sent again after restart          ${mb(sentAgain)}  (${(sentAgain / (size - kept)).toFixed(3)}x what remained; ${(sentAgain / size).toFixed(3)}x a full restart)`);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await run();
