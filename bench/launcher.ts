import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createSandbox, type Sandbox } from '../rehearsal/sandbox.js';
import { registryWithRelease } from '../rehearsal/release-fixture.js';

/**
 * What `ao` costs a user, side by side with its baseline in one run:
 * - the npm-installed (swapped) `ao --version` vs the bare binary (goal <= 1.10x);
 * - scripts blocked under npm: the first call (verify + swap) and every later call
 *   (the swapped binary) vs a bare `node -e 0` (goal <= +5 ms);
 * - the JS launcher where it stays (pnpm, yarn, read-only package dir) vs `node -e 0`;
 * - the postinstall's own time (goal <= 150 ms median);
 * - bytes a global install downloads vs main + one platform tarball (goal <= 1.05x).
 */
const execFileAsync = promisify(execFile);
const SPEC = '@aoagents/ao@0.10.0';
const ROUNDS = 40;

export function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, cwd, stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
  return ms;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the commands interleaved, so machine noise falls on all of them alike; returns each median in ms. */
function sideBySide(cmds: Array<[string, string[], NodeJS.ProcessEnv, string?]>, rounds = ROUNDS): number[] {
  const times = cmds.map(() => [] as number[]);
  for (const [cmd, args, env, cwd] of cmds) timeOnce(cmd, args, env, cwd); // warm the page cache
  for (let i = 0; i < rounds; i++) cmds.forEach(([cmd, args, env, cwd], j) => times[j].push(timeOnce(cmd, args, env, cwd)));
  return times.map(median);
}

/** A loopback proxy in front of the registry that counts the bytes it serves (Host kept, so tarball URLs point back at it). */
async function countingProxy(target: string): Promise<{ url: string; bytes(): number; reset(): void; server: Server }> {
  const upstream = new URL(target);
  let served = 0;
  const server = createServer((req, res) => {
    const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('data', (chunk: Buffer) => (served += chunk.length));
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, bytes: () => served, reset: () => (served = 0), server };
}

/** Asynchronous: the counting proxy runs in this process and must keep serving during the install. */
async function install(sb: Sandbox, extra: string[] = []): Promise<void> {
  await execFileAsync('npm', ['install', '-g', SPEC, ...extra], { env: sb.env });
}

const ratio = (a: number, b: number) => (a / b).toFixed(2);
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

export async function run(): Promise<void> {
  const { registry, staged } = await registryWithRelease('0.10.0');
  const proxy = await countingProxy(registry.url);
  const sandboxes: Sandbox[] = [];
  try {
    const swapped = createSandbox({ registry: proxy.url, name: 'bench-swapped' });
    const blocked = createSandbox({ registry: proxy.url, name: 'bench-blocked' });
    sandboxes.push(swapped, blocked);

    proxy.reset();
    await install(swapped);
    const downloaded = proxy.bytes();
    await install(blocked, ['--ignore-scripts']);

    const pkgDir = join(swapped.prefix, 'lib', 'node_modules', '@aoagents', 'ao');
    const bare = join(pkgDir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
    const ao = join(swapped.binDir, 'ao');
    const blockedAo = join(blocked.binDir, 'ao');
    const blockedPkg = join(blocked.prefix, 'lib', 'node_modules', '@aoagents', 'ao');
    // A copy of the launcher beside bin/ao: the same code where it is never swapped out (pnpm, yarn, read-only).
    const launcher = join(blockedPkg, 'bin', 'ao-launcher');
    copyFileSync(join(blockedPkg, 'bin', 'ao'), launcher);
    const firstCalls: number[] = [];
    const firstBaseline: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Back to a fresh --ignore-scripts install: launcher in place, nothing verified yet.
      // Unlink first: the swapped bin/ao is a hard link to the platform binary, which a copy onto it would overwrite.
      rmSync(join(blockedPkg, 'bin', 'ao'));
      copyFileSync(launcher, join(blockedPkg, 'bin', 'ao'));
      rmSync(join(blocked.home, '.cache', 'ao', 'verified'), { recursive: true, force: true });
      firstCalls.push(timeOnce(blockedAo, ['--version'], blocked.env));
      firstBaseline.push(timeOnce(process.execPath, ['-e', '0'], blocked.env));
    }
    const [firstMs, firstNodeMs] = [median(firstCalls), median(firstBaseline)];
    const [steadyMs, steadyNodeMs, steadyBareMs] = sideBySide([
      [blockedAo, ['--version'], blocked.env],
      [process.execPath, ['-e', '0'], blocked.env],
      [bare, ['--version'], blocked.env],
    ]);

    const [swappedMs, bareMs] = sideBySide([[ao, ['--version'], swapped.env], [bare, ['--version'], swapped.env]]);
    // The least any Node launcher can cost: load child_process, spawn, wait. Shows how much is ours.
    const minimalSpawn = `require('node:child_process').spawn(${JSON.stringify(bare)}, ['--version'], { stdio: 'inherit' }).on('exit', (c) => process.exit(c))`;
    const [launcherMs, nodeMs, spawnMs] = sideBySide([
      [launcher, ['--version'], blocked.env],
      [process.execPath, ['-e', '0'], blocked.env],
      [process.execPath, ['-e', minimalSpawn], blocked.env],
    ]);
    const postinstallEnv = { ...swapped.env, npm_config_user_agent: 'npm/11 node/v20 linux x64' };
    const [postinstallMs, nodeAgainMs] = sideBySide([[process.execPath, ['lib/postinstall.cjs'], postinstallEnv, pkgDir], [process.execPath, ['-e', '0'], postinstallEnv]], 15);

    const main = staged.packages.at(-1)!;
    const platform = staged.packages.find((p) => p.name.endsWith('linux-x64'))!;
    const tarballs = statSync(main.tarball).size + statSync(platform.tarball).size;

    const lines = [
      `swapped ao --version     ${swappedMs.toFixed(2)} ms vs bare binary ${bareMs.toFixed(2)} ms: ${ratio(swappedMs, bareMs)}x (goal <= 1.10x) ${verdict(swappedMs / bareMs <= 1.1)}`,
      `scripts blocked, 1st ao  ${firstMs.toFixed(2)} ms vs node -e 0 ${firstNodeMs.toFixed(2)} ms: +${(firstMs - firstNodeMs).toFixed(2)} ms (verifies the binary's sha512, then swaps it in; once per install)`,
      `scripts blocked, 2nd on  ${steadyMs.toFixed(2)} ms vs node -e 0 ${steadyNodeMs.toFixed(2)} ms: ${(steadyMs - steadyNodeMs).toFixed(2)} ms (goal <= +5 ms) ${verdict(steadyMs - steadyNodeMs <= 5)}; vs bare binary ${steadyBareMs.toFixed(2)} ms: ${ratio(steadyMs, steadyBareMs)}x`,
      `JS launcher (kept)       ${launcherMs.toFixed(2)} ms vs node -e 0 ${nodeMs.toFixed(2)} ms: +${(launcherMs - nodeMs).toFixed(2)} ms, ${ratio(launcherMs, nodeMs)}x (pnpm, yarn, read-only dir: every call pays a Node start-up)`,
      `  of which child_process + the binary itself: minimal spawn-only launcher ${spawnMs.toFixed(2)} ms; ours differs by ${(launcherMs - spawnMs).toFixed(2)} ms`,
      `postinstall (median)     ${postinstallMs.toFixed(1)} ms (goal <= 150 ms) ${verdict(postinstallMs <= 150)}; node -e 0 alone ${nodeAgainMs.toFixed(1)} ms, so its own work is ${(postinstallMs - nodeAgainMs).toFixed(1)} ms`,
      `global install download  ${downloaded} B vs main + linux-x64 tarballs ${tarballs} B: ${ratio(downloaded, tarballs)}x (goal <= 1.05x) ${verdict(downloaded / tarballs <= 1.05)}`,
    ];
    process.stdout.write(lines.join('\n') + `\n(load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores while measuring)\n`);
  } finally {
    for (const sb of sandboxes) sb.cleanup();
    proxy.server.close();
    await registry.stop();
  }
}
