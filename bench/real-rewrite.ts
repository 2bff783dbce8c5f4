import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedRegistry } from '../release/embedded-registry.js';
import { publishRealRewriteRelease } from '../rehearsal/real-release.js';
import { canRunRealRewrite, REAL_REWRITE } from '../rehearsal/real-rewrite.js';
import { createSandbox, type Sandbox } from '../rehearsal/sandbox.js';
import { median, timeOnce } from './launcher.js';

/**
 * What the real 23 MB rewrite binary costs at install and on the first run, beside
 * `node -e 0` in the same run, samples alternating so machine noise falls on both alike:
 * - the postinstall (sha512 of the binary, `--version`, the swap);
 * - the first `ao --version` with scripts blocked (the launcher verifies, records the stamp and runs it; it never swaps).
 */
const ROUNDS = 15;

const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${median(s).toFixed(1)} ms, p10-p90 ${s[Math.floor(s.length * 0.1)]!.toFixed(1)}-${s[Math.ceil(s.length * 0.9) - 1]!.toFixed(1)} ms, n=${s.length}`;
};

export async function run(): Promise<void> {
  if (!canRunRealRewrite) {
    process.stdout.write(`skipped: the real binary exists for linux-x64 only, this host is ${process.platform}-${process.arch}\n`);
    return;
  }
  const registry = await startEmbeddedRegistry();
  const sandboxes: Sandbox[] = [];
  try {
    const release = await publishRealRewriteRelease({ registry: { url: registry.url, token: registry.authToken } });
    const withScripts = createSandbox({ registry: registry.url, name: 'bench-real-scripts' });
    const blocked = createSandbox({ registry: registry.url, name: 'bench-real-blocked' });
    sandboxes.push(withScripts, blocked);
    await promisify(execFile)('npm', ['install', '-g', release.spec], { env: withScripts.env });
    await promisify(execFile)('npm', ['install', '-g', release.spec, '--ignore-scripts'], { env: blocked.env });
    const pkgOf = (sb: Sandbox) => join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao');

    const postinstall: number[] = [];
    const nodeA: number[] = [];
    const postinstallEnv = { ...withScripts.env, npm_config_user_agent: 'npm/11 node/v20 linux x64' };
    for (let i = 0; i < ROUNDS; i++) {
      postinstall.push(timeOnce(process.execPath, ['lib/postinstall.cjs'], postinstallEnv, pkgOf(withScripts)));
      nodeA.push(timeOnce(process.execPath, ['-e', '0'], postinstallEnv));
    }

    const blockedPkg = pkgOf(blocked);
    const launcher = join(blockedPkg, 'bin', 'ao-launcher');
    copyFileSync(join(blockedPkg, 'bin', 'ao'), launcher);
    const first: number[] = [];
    const nodeB: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Back to a fresh --ignore-scripts install: launcher in place, nothing verified yet.
      rmSync(join(blockedPkg, 'bin', 'ao'));
      copyFileSync(launcher, join(blockedPkg, 'bin', 'ao'));
      rmSync(join(blocked.home, '.cache', 'ao', 'verified'), { recursive: true, force: true });
      first.push(timeOnce(join(blocked.binDir, 'ao'), ['--version'], blocked.env));
      nodeB.push(timeOnce(process.execPath, ['-e', '0'], blocked.env));
    }
    const lines = [
      `input: the real ${REAL_REWRITE.spec} binary, ${REAL_REWRITE.binarySize.toLocaleString('en-US')} bytes, released through @aoagents/ao@${REAL_REWRITE.version} with the override`,
      `postinstall           ${spread(postinstall)}`,
      `  node -e 0 beside it ${spread(nodeA)}; the postinstall's own work +${(median(postinstall) - median(nodeA)).toFixed(1)} ms`,
      `first ao --version    ${spread(first)} (scripts blocked: the launcher hashes the binary, records it, and runs it; it stays the launcher)`,
      `  node -e 0 beside it ${spread(nodeB)}; the first run's own work +${(median(first) - median(nodeB)).toFixed(1)} ms`,
    ];
    process.stdout.write(lines.join('\n') + `\n(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores while measuring)\n`);
  } finally {
    for (const sb of sandboxes) sb.cleanup();
    await registry.stop();
  }
}
