import { execFile, spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../release/embedded-registry.js';
import type { StageResult } from '../release/stage.js';
import { createSandbox, type Sandbox } from '../rehearsal/sandbox.js';
import { registryWithRelease } from '../rehearsal/release-fixture.js';
import { pinnedNode } from '../rehearsal/pinned-node.js';
import { publishRealRewriteRelease } from '../rehearsal/real-release.js';
import { canRunRealRewrite, REAL_REWRITE } from '../rehearsal/real-rewrite.js';

/**
 * What `ao` costs a user, side by side with its baseline in one run, on a release of the real
 * rewrite's 23 MB binary where it runs (linux-x64; the fixture release elsewhere):
 * - the npm-installed (swapped) `ao --version` vs the bare binary (goal <= 1.10x);
 * - the JS launcher (pnpm, yarn and bun shims; npm with scripts blocked, which no
 *   longer swaps on first run) vs a bare `node -e 0` (goal <= +3 ms), on Node 20
 *   (spawn), Node 22 and 24 (process.execve), and with Node's compile cache. Each is
 *   decomposed: launcher+binary, `node -e 0`, the bare binary and `true` (what the
 *   bench's own spawn of a process costs), so the launcher's own cost shows apart
 *   from the binary's own run (decomposed);
 * - the postinstall's own time (goal <= 150 ms median);
 * - bytes a global install downloads vs main + one platform tarball (goal <= 1.05x).
 * Samples alternate between the commands compared; each row gives medians and
 * the interquartile range, and the machine's load average while it was measured
 * (the machine is shared: a figure means little without it).
 */
const execFileAsync = promisify(execFile);
const ROUNDS = 40;
/** A process that does nothing: what spawning any command costs the bench, to take out of the bare binary's time. */
const TRUE = '/usr/bin/true';

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

/**
 * The launcher's own work timed inside its process, which the machine's load barely moves (wall figures here drift
 * by milliseconds): from Node starting to compile the launcher's first file to its process.execve call (its spawn on
 * Node 20). A preload marks the first compile, takes that call's place, prints the time and exits, so the binary never runs.
 */
const OWN_WORK_PRELOAD = [
  "const { performance } = require('node:perf_hooks');",
  "const Module = require('node:module');",
  'let start;',
  // The launcher lists the environment for its spawn where a preload ran (spawn-binary.ts); this one is the bench's.
  'process.execArgv.splice(0);',
  'const compile = Module.prototype._compile;',
  'Module.prototype._compile = function (...args) { start ??= performance.now(); return compile.apply(this, args); };',
  "const done = () => { require('node:fs').writeSync(2, `own ${performance.now() - start}\\n`); process.reallyExit(0); };",
  // Node 20 has no process.execve and spawns through the process handle (postinstall/spawn-binary.ts): it ends there.
  "if (typeof process.execve === 'function') process.execve = done; else { process.noDeprecation = true; process.binding('process_wrap').Process.prototype.spawn = done; process.noDeprecation = false; }",
].join('\n');

function ownWork(node: string, file: string, args: string[], env: NodeJS.ProcessEnv, preload: string): number {
  const r = spawnSync(node, ['--require', preload, file, ...args], { env, encoding: 'utf8' });
  const m = /^own ([\d.]+)$/m.exec(r.stderr);
  if (!m) throw new Error(`${file} did not reach process.execve: ${r.stderr}`);
  return Number(m[1]);
}

/** The 1-minute load average now, for the figures measured around it. */
const load = () => loadavg()[0]!.toFixed(1);

/** Times `cmds` side by side (wall or CPU) and notes the load before and after. */
function measured<const C extends Array<[string, string[], NodeJS.ProcessEnv]>>(sampler: (cmds: C) => { [K in keyof C]: number[] }, cmds: C) {
  const before = load();
  const times = sampler(cmds);
  return { times, load: `load ${before}..${load()}` };
}

/**
 * The launcher's cost, decomposed: launcher+binary against `node -e 0`, the bare binary and `true`, taken in the same
 * rounds. The binary's own run is the median bare binary less the median `true` (the bench's own spawn of a process,
 * counted once already in `node -e 0`; `true` is dynamically linked, so its loader's start-up stays in "own", which errs
 * against us). "Own" is what the launcher adds to Node's start-up and that run: per round, launcher - node -e 0 (pairing
 * samples of one round cancels most of the shared machine's drift), less the run, then the median and interquartile
 * range. Two verdicts are printed: the words, over `node -e 0`, which count the binary's run (no launcher can
 * cut it, and the real binary's alone is about 4 ms here), and the launcher's own cost, which does not.
 */
function decomposed(launcherT: number[], nodeT: number[], bareT: number[], trueT: number[]): { over: number; own: number; text: string } {
  const over = median(launcherT) - median(nodeT);
  const run = median(bareT) - median(trueT);
  const own = launcherT.map((t, i) => t - nodeT[i]! - run);
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  return {
    over,
    own: median(own),
    text:
      `launcher+binary ${median(launcherT).toFixed(2)} ms [IQR ${iqr(launcherT)}], node -e 0 ${median(nodeT).toFixed(2)} [${iqr(nodeT)}], ` +
      `the binary's own run ${run.toFixed(2)} (bare ${median(bareT).toFixed(2)} - true ${median(trueT).toFixed(2)}); ` +
      `over node -e 0 ${sign(over)} ms (goal's words <= +3 ms, the binary's run in) ${verdict(over <= 3)}; ` +
      `the launcher's own ${sign(median(own))} ms [IQR ${iqr(own)}] (goal <= +3 ms, the binary's run out) ${verdict(median(own) <= 3)}`,
  };
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
async function install(sb: Sandbox, spec: string, extra: string[] = []): Promise<void> {
  await execFileAsync('npm', ['install', '-g', spec, ...extra], { env: sb.env });
}

/**
 * What the bench installs: our packages around the real 0.10.3 binary (23 MB, the input users get) where it runs, the
 * fixture release (a 5 MB Go binary) elsewhere. Its stage lives in the registry's folder, removed when it stops.
 */
async function benchRelease(): Promise<{ registry: EmbeddedRegistry; staged: StageResult; spec: string; input: string }> {
  if (!canRunRealRewrite) {
    const { registry, staged } = await registryWithRelease('0.10.0');
    return { registry, staged, spec: '@aoagents/ao@0.10.0', input: 'fixture binary' };
  }
  const registry = await startEmbeddedRegistry();
  const release = await publishRealRewriteRelease({
    registry: { url: registry.url, token: registry.authToken },
    workDir: join(registry.storageDir, 'real-release'),
  });
  return { registry, staged: release.staged, spec: release.spec, input: `real ${REAL_REWRITE.version} binary, 23 MB` };
}

const ratio = (a: number, b: number) => (a / b).toFixed(2);
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

export async function run(): Promise<void> {
  const { registry, staged, spec, input } = await benchRelease();
  const proxy = await countingProxy(registry.url);
  const sandboxes: Sandbox[] = [];
  try {
    const swapped = createSandbox({ registry: proxy.url, name: 'bench-swapped' });
    const blocked = createSandbox({ registry: proxy.url, name: 'bench-blocked' });
    sandboxes.push(swapped, blocked);

    proxy.reset();
    await install(swapped, spec);
    const downloaded = proxy.bytes();
    await install(blocked, spec, ['--ignore-scripts']);

    const pkgDir = join(swapped.prefix, 'lib', 'node_modules', '@aoagents', 'ao');
    const bare = join(pkgDir, 'node_modules', '@aoagents', 'ao-linux-x64', 'bin', 'ao');
    const ao = join(swapped.binDir, 'ao');
    const blockedAo = join(blocked.binDir, 'ao');
    const launcher = join(blocked.prefix, 'lib', 'node_modules', '@aoagents', 'ao', 'bin', 'ao');
    timeOnce(blockedAo, ['--version'], blocked.env); // the first call verifies and writes the stamp

    const swappedRun = measured(
      (c) => sideBySide(c),
      [
        [ao, ['--version'], swapped.env],
        [bare, ['--version'], swapped.env],
      ],
    );
    const [swappedT, bareT] = swappedRun.times;
    // Both lines named explicitly (rehearsal/pinned-node.ts), whatever Node runs the bench.
    const node20 = await pinnedNode(20);
    const node22 = await pinnedNode(22);
    const node24 = await pinnedNode(24);
    // The least any Node launcher can cost on Node 20: spawn through the process handle Node holds (as
    // postinstall/spawn-binary.ts does), wait. And what loading child_process to do the same costs.
    const minimalSpawn = [
      `const p = new (process.binding('process_wrap').Process)();`,
      `p.onexit = (c) => process.exit(c);`,
      `p.spawn({ file: ${JSON.stringify(bare)}, args: [${JSON.stringify(bare)}, '--version'], stdio: [0, 1, 2].map((fd) => ({ type: 'inherit', fd })) });`,
    ].join(' ');
    const childProcessSpawn = `require('node:child_process').spawn(${JSON.stringify(bare)}, ['--version'], { stdio: 'inherit' }).on('exit', (c) => process.exit(c))`;
    // On Node 22: a file that only execs the binary (what replacing a Node process costs, with the binary's run).
    const minimalExec = `process.execve(${JSON.stringify(bare)}, [${JSON.stringify(bare)}, '--version'], process.env)`;
    // Each line's commands, timed twice: wall time here, CPU time below.
    const line20 = [
      [node20, [launcher, '--version'], blocked.env],
      [node20, ['-e', '0'], blocked.env],
      [bare, ['--version'], blocked.env],
      [TRUE, [], blocked.env],
      [node20, ['-e', minimalSpawn], blocked.env],
      [node20, ['-e', childProcessSpawn], blocked.env],
    ] as const satisfies Array<[string, string[], NodeJS.ProcessEnv]>;
    const run20 = measured((c) => sideBySide(c), [...line20]);
    const [launcher20T, node20T, bare20T, true20T, spawnT, childProcessT] = run20.times;
    // Node's compile cache can only cover code loaded after it is enabled: a stub that enables it, then loads the launcher.
    const stub = join(blocked.root, 'cached-launcher.cjs');
    writeFileSync(
      stub,
      `require('node:module').enableCompileCache?.(${JSON.stringify(join(blocked.root, 'compile-cache'))});\nrequire(${JSON.stringify(launcher)});\n`,
    );
    const line22 = [
      [node22, [launcher, '--version'], blocked.env],
      [node22, ['-e', '0'], blocked.env],
      [bare, ['--version'], blocked.env],
      [TRUE, [], blocked.env],
      [node22, [stub, '--version'], blocked.env],
      [node22, ['-e', minimalExec], blocked.env],
    ] as const satisfies Array<[string, string[], NodeJS.ProcessEnv]>;
    const run22 = measured((c) => sideBySide(c), [...line22]);
    const [launcher22T, node22T, bare22T, true22T, stub22T, execT] = run22.times;
    // Node 24, the active LTS line: the same execve path, wall time only.
    const run24 = measured(
      (c) => sideBySide(c),
      [
        [node24, [launcher, '--version'], blocked.env],
        [node24, ['-e', '0'], blocked.env],
        [bare, ['--version'], blocked.env],
        [TRUE, [], blocked.env],
        [node24, ['-e', minimalExec], blocked.env],
      ],
    );
    const [launcher24T, node24T, bare24T, true24T, exec24T] = run24.times;
    // npm with scripts blocked: the bin link runs the launcher through `#!/usr/bin/env node`, whichever Node is on PATH.
    const blockedRun = measured(
      (c) => sideBySide(c),
      [
        [blockedAo, ['--version'], blocked.env],
        [ao, ['--version'], swapped.env],
      ],
    );
    const [blockedT, swappedAgainT] = blockedRun.times;
    const blockedNode = spawnSync('node', ['--version'], { env: blocked.env, encoding: 'utf8' }).stdout.trim();
    const cpu20 = measured((c) => cpuSideBySide(c), [...line20]);
    const cpu22 = measured((c) => cpuSideBySide(c), [...line22]);
    const postinstallEnv = { ...swapped.env, npm_config_user_agent: 'npm/11 node/v20 linux x64' };
    const [postinstallT, nodeAgainT] = sideBySide(
      [
        [process.execPath, ['lib/postinstall.cjs'], postinstallEnv, pkgDir],
        [process.execPath, ['-e', '0'], postinstallEnv],
      ],
      15,
    );
    const [swappedMs, bareMs, postinstallMs, nodeAgainMs] = [median(swappedT), median(bareT), median(postinstallT), median(nodeAgainT)];
    const wall20 = decomposed(launcher20T, node20T, bare20T, true20T);
    const wall22 = decomposed(launcher22T, node22T, bare22T, true22T);
    const wall24 = decomposed(launcher24T, node24T, bare24T, true24T);
    const [cpuLauncher20T, cpuNode20T, cpuBare20T, cpuTrue20T, cpuSpawnT] = cpu20.times;
    const [cpuLauncher22T, cpuNode22T, cpuBare22T, cpuTrue22T, cpuStub22T, cpuExecT] = cpu22.times;
    const preload = join(blocked.root, 'own-work.cjs');
    writeFileSync(preload, OWN_WORK_PRELOAD);
    const minimalExecFile = join(blocked.root, 'exec-only.cjs');
    writeFileSync(minimalExecFile, minimalExec);
    const minimalSpawnFile = join(blocked.root, 'spawn-only.cjs');
    writeFileSync(minimalSpawnFile, minimalSpawn);
    // Alternating, as everywhere here: the launcher on its usual path (a stamp hit), and a file that only execs (spawns).
    const inProcess = (node: string, floorFile = minimalExecFile) => {
      const before = load();
      const [ours, floor] = [[] as number[], [] as number[]];
      for (let i = 0; i < ROUNDS; i++) {
        ours.push(ownWork(node, launcher, ['--version'], blocked.env, preload));
        floor.push(ownWork(node, floorFile, [], blocked.env, preload));
      }
      const text = (xs: number[]) => `min ${sorted(xs)[0]!.toFixed(2)}, median ${median(xs).toFixed(2)} ms`;
      return `ours ${text(ours)}; a 1-line ${floorFile === minimalExecFile ? 'execve' : 'spawn'} file ${text(floor)} (load ${before}..${load()})`;
    };

    const main = staged.packages.at(-1)!;
    const platform = staged.packages.find((p) => p.name.endsWith('linux-x64'))!;
    const tarballs = statSync(main.tarball).size + statSync(platform.tarball).size;

    const lines = [
      `swapped ao --version        ${swappedMs.toFixed(2)} ms vs bare binary ${bareMs.toFixed(2)} ms: ${ratio(swappedMs, bareMs)}x (goal <= 1.10x) ${verdict(swappedMs / bareMs <= 1.1)} (${swappedRun.load})`,
      `JS launcher, Node 20 (spawn; ${spawnSync(node20, ['--version'], { encoding: 'utf8' }).stdout.trim()}): ${wall20.text} (${run20.load})`,
      `  a spawn-only 1-line launcher   ${versus(spawnT, node20T)}: the floor on Node 20 (a spawn + the binary's own run); ours over it ${versus(launcher20T, spawnT)}`,
      `  the same through child_process ${versus(childProcessT, spawnT)} over the floor (what the launcher no longer loads)`,
      `JS launcher, Node 22 (execve; ${spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim()}): ${wall22.text} (${run22.load})`,
      `  an execve-only 1-line launcher ${versus(execT, node22T)}: the floor on Node 22 (replacing a Node process + the binary's own run); ours over it ${versus(launcher22T, execT)}`,
      `  with the compile cache (stub) ${versus(stub22T, launcher22T)} vs the plain launcher`,
      `JS launcher, Node 24 (execve; ${spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim()}): ${wall24.text} (${run24.load})`,
      `  an execve-only 1-line launcher ${versus(exec24T, node24T)}: the floor on Node 24; ours over it ${versus(launcher24T, exec24T)}`,
      `npm with scripts blocked (\`ao\` runs the launcher on ${blockedNode}): ${versus(blockedT, swappedAgainT)} vs the swapped binary (${blockedRun.load})`,
      `launcher's own work in-process (Node compiling bin/ao to its process.execve call, ${ROUNDS} runs): Node 22 ${inProcess(node22)}; Node 24 ${inProcess(node24)}; Node 20 (to its spawn) ${inProcess(node20, minimalSpawnFile)}`,
      `CPU time (user+sys), same commands: Node 20 ${decomposed(cpuLauncher20T, cpuNode20T, cpuBare20T, cpuTrue20T).text}; spawn-only floor ${versus(cpuSpawnT, cpuNode20T)}, ours over it ${versus(cpuLauncher20T, cpuSpawnT)} (${cpu20.load})`,
      `  Node 22 ${decomposed(cpuLauncher22T, cpuNode22T, cpuBare22T, cpuTrue22T).text}; execve-only floor ${versus(cpuExecT, cpuNode22T)}, ours over it ${versus(cpuLauncher22T, cpuExecT)}; compile cache stub ${versus(cpuStub22T, cpuLauncher22T)} vs the plain launcher (${cpu22.load})`,
      `postinstall (median)        ${postinstallMs.toFixed(1)} ms (goal <= 150 ms) ${verdict(postinstallMs <= 150)}; node -e 0 alone ${nodeAgainMs.toFixed(1)} ms, so its own work is ${(postinstallMs - nodeAgainMs).toFixed(1)} ms`,
      `global install download     ${downloaded} B vs main + linux-x64 tarballs ${tarballs} B: ${ratio(downloaded, tarballs)}x (goal <= 1.05x) ${verdict(downloaded / tarballs <= 1.05)}`,
    ];
    process.stdout.write(`(${input})\n` + lines.join('\n') + `\n(${availableParallelism()} cores)\n`);
  } finally {
    for (const sb of sandboxes) sb.cleanup();
    proxy.server.close();
    await registry.stop();
  }
}
