import { execFile, spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../common/paths.js';
import { createSandbox, type Sandbox } from '../rehearsal/sandbox.js';
import { registryWithRelease } from '../rehearsal/release-fixture.js';

/**
 * What `ao` costs a user, side by side with its baseline in one run:
 * - the npm-installed (swapped) `ao --version` vs the bare binary (goal <= 1.10x);
 * - the JS launcher (pnpm, yarn and bun shims; npm with scripts blocked, which no
 *   longer swaps on first run) vs a bare `node -e 0` (goal <= +3 ms), on this Node
 *   (spawn) and on Node 22 (process.execve), and with Node's compile cache;
 * - the postinstall's own time (goal <= 150 ms median);
 * - bytes a global install downloads vs main + one platform tarball (goal <= 1.05x).
 * Samples alternate between the commands compared; each row gives medians and
 * the interquartile range.
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

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
export const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
const iqr = (xs: number[]) => `${sorted(xs)[Math.floor(xs.length / 4)]!.toFixed(1)}..${sorted(xs)[Math.floor((xs.length * 3) / 4)]!.toFixed(1)}`;

/** Runs the commands interleaved, so machine noise falls on all of them alike; returns each one's samples in ms. */
function sideBySide<const C extends Array<[string, string[], NodeJS.ProcessEnv, string?]>>(cmds: C, rounds = ROUNDS): { [K in keyof C]: number[] } {
  const times = cmds.map(() => [] as number[]) as { [K in keyof C]: number[] };
  for (const [cmd, args, env, cwd] of cmds) timeOnce(cmd, args, env, cwd); // warm the page cache
  for (let i = 0; i < rounds; i++) cmds.forEach(([cmd, args, env, cwd], j) => times[j]!.push(timeOnce(cmd, args, env, cwd)));
  return times;
}

/**
 * CPU time (user + system) a command used, read from bash's `times` (getrusage of its children, microseconds).
 * Unlike wall time it barely moves when other work shares the cores.
 */
function cpuOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null; times', '_', cmd, ...args], { env, encoding: 'utf8' });
  const children = r.stdout
    .trim()
    .split('\n')
    .pop()!
    .split(/\s+/)
    .map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t)!;
      return Number(m[1]) * 60_000 + Number(m[2]) * 1000;
    });
  return children[0]! + children[1]!; // bash's `times` prints the children's user and system time
}

function cpuSideBySide<const C extends Array<[string, string[], NodeJS.ProcessEnv]>>(cmds: C, rounds = ROUNDS): { [K in keyof C]: number[] } {
  const times = cmds.map(() => [] as number[]) as { [K in keyof C]: number[] };
  for (let i = 0; i < rounds; i++) cmds.forEach(([cmd, args, env], j) => times[j]!.push(cpuOnce(cmd, args, env)));
  return times;
}

/** `a` against the baseline `b`: medians, their difference, and each one's spread. */
function versus(a: number[], b: number[]): string {
  return `${median(a).toFixed(2)} ms [IQR ${iqr(a)}] vs ${median(b).toFixed(2)} ms [IQR ${iqr(b)}]: ${median(a) - median(b) >= 0 ? '+' : ''}${(median(a) - median(b)).toFixed(2)} ms`;
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
    const launcher = join(blocked.prefix, 'lib', 'node_modules', '@aoagents', 'ao', 'bin', 'ao');
    timeOnce(blockedAo, ['--version'], blocked.env); // the first call verifies and writes the stamp

    const [swappedT, bareT] = sideBySide([
      [ao, ['--version'], swapped.env],
      [bare, ['--version'], swapped.env],
    ]);
    // The least any Node launcher can cost on Node 20: load child_process, spawn, wait.
    const minimalSpawn = `require('node:child_process').spawn(${JSON.stringify(bare)}, ['--version'], { stdio: 'inherit' }).on('exit', (c) => process.exit(c))`;
    const [blockedT, nodeT, spawnT] = sideBySide([
      [blockedAo, ['--version'], blocked.env],
      [process.execPath, ['-e', '0'], blocked.env],
      [process.execPath, ['-e', minimalSpawn], blocked.env],
    ]);
    const node22 = join(REPO_ROOT, 'node_modules', 'node22', 'bin', 'node');
    // Node's compile cache can only cover code loaded after it is enabled: a stub that enables it, then loads the launcher.
    const stub = join(blocked.root, 'cached-launcher.cjs');
    writeFileSync(
      stub,
      `require('node:module').enableCompileCache?.(${JSON.stringify(join(blocked.root, 'compile-cache'))});\nrequire(${JSON.stringify(launcher)});\n`,
    );
    const [launcher22T, node22T, stub22T] = sideBySide([
      [node22, [launcher, '--version'], blocked.env],
      [node22, ['-e', '0'], blocked.env],
      [node22, [stub, '--version'], blocked.env],
    ]);
    const [cpuLauncherT, cpuNodeT, cpuBareT] = cpuSideBySide([
      [blockedAo, ['--version'], blocked.env],
      [process.execPath, ['-e', '0'], blocked.env],
      [bare, ['--version'], blocked.env],
    ]);
    const [cpuLauncher22T, cpuNode22T, cpuStub22T] = cpuSideBySide([
      [node22, [launcher, '--version'], blocked.env],
      [node22, ['-e', '0'], blocked.env],
      [node22, [stub, '--version'], blocked.env],
    ]);
    const postinstallEnv = { ...swapped.env, npm_config_user_agent: 'npm/11 node/v20 linux x64' };
    const [postinstallT, nodeAgainT] = sideBySide(
      [
        [process.execPath, ['lib/postinstall.cjs'], postinstallEnv, pkgDir],
        [process.execPath, ['-e', '0'], postinstallEnv],
      ],
      15,
    );
    const [swappedMs, bareMs, postinstallMs, nodeAgainMs] = [median(swappedT), median(bareT), median(postinstallT), median(nodeAgainT)];
    const launcherOver = median(blockedT) - median(nodeT);
    const launcher22Over = median(launcher22T) - median(node22T);

    const main = staged.packages.at(-1)!;
    const platform = staged.packages.find((p) => p.name.endsWith('linux-x64'))!;
    const tarballs = statSync(main.tarball).size + statSync(platform.tarball).size;

    const lines = [
      `swapped ao --version        ${swappedMs.toFixed(2)} ms vs bare binary ${bareMs.toFixed(2)} ms: ${ratio(swappedMs, bareMs)}x (goal <= 1.10x) ${verdict(swappedMs / bareMs <= 1.1)}`,
      `JS launcher, Node ${process.versions.node} (spawn)  ${versus(blockedT, nodeT)} over node -e 0 (goal <= +3 ms) ${verdict(launcherOver <= 3)}`,
      `  a spawn-only 1-line launcher   ${versus(spawnT, nodeT)}: the floor on this Node (child_process + the binary's own run)`,
      `  npm with scripts blocked now keeps the launcher: ${(median(blockedT) - swappedMs).toFixed(2)} ms per call over the swapped binary`,
      `JS launcher, Node 22 (execve)  ${versus(launcher22T, node22T)} over node -e 0 (goal <= +3 ms) ${verdict(launcher22Over <= 3)}`,
      `  with the compile cache (stub) ${versus(stub22T, launcher22T)} vs the plain launcher`,
      `CPU time (user+sys), same commands: Node 20 launcher ${versus(cpuLauncherT, cpuNodeT)}; the bare binary alone ${median(cpuBareT).toFixed(2)} ms`,
      `  Node 22: launcher ${versus(cpuLauncher22T, cpuNode22T)}; with the compile cache (stub) ${versus(cpuStub22T, cpuNode22T)}`,
      `postinstall (median)        ${postinstallMs.toFixed(1)} ms (goal <= 150 ms) ${verdict(postinstallMs <= 150)}; node -e 0 alone ${nodeAgainMs.toFixed(1)} ms, so its own work is ${(postinstallMs - nodeAgainMs).toFixed(1)} ms`,
      `global install download     ${downloaded} B vs main + linux-x64 tarballs ${tarballs} B: ${ratio(downloaded, tarballs)}x (goal <= 1.05x) ${verdict(downloaded / tarballs <= 1.05)}`,
    ];
    process.stdout.write(lines.join('\n') + `\n(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores while measuring)\n`);
  } finally {
    for (const sb of sandboxes) sb.cleanup();
    proxy.server.close();
    await registry.stop();
  }
}
