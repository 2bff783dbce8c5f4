/**
 * The `ao` command of @aoagents/ao when the postinstall did not swap in the
 * native binary (scripts blocked, pnpm/yarn/bun shims, Windows). It finds the
 * platform binary, verifies it once per file state (swapping it in on that
 * first run where npm's layout allows, see swap.ts), and runs it, passing
 * arguments, stdio, the exit code and signals through unchanged.
 * It runs on every such `ao` call, so it uses Node built-ins only and does as
 * little as possible before the spawn.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatError, UserError } from '../common/errors.js';
import { diagnoseMissingBinary, installerOf } from './diagnose.js';
import { hostFacts, preferredTargets } from './host.js';
import { legacyNotice } from './legacy-notice.js';
import { cachedBinaryPath } from './locations.js';
import { MANIFEST_FILE, type AoManifest, type BinaryEntry } from './manifest.js';
import { findPlatformPackage, isGlobalInstall, lockfileTargets } from './resolve.js';
import { verifyBinaryOnce } from './verify.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function die(err: unknown): never {
  process.stderr.write(formatError(err) + '\n');
  process.exit(1);
}

function fromOverride(): string | undefined {
  const override = process.env.AO_BINARY_PATH;
  if (!override) return undefined;
  try {
    accessSync(override, constants.X_OK);
  } catch (cause) {
    throw new UserError({ what: `AO_BINARY_PATH=${override} cannot be run`, why: (cause as Error).message, fix: 'point AO_BINARY_PATH at an executable ao binary, or unset it', code: 'EAOOVERRIDE' });
  }
  process.stderr.write(`ao: using AO_BINARY_PATH=${override} (not verified)\n`);
  return override;
}

/**
 * Scripts were blocked (or the postinstall could not swap): do the postinstall's
 * swap now that the binary is verified, so later calls skip Node. lib/swap.cjs
 * is loaded only here, on the first run; any failure keeps the launcher silently.
 */
function swapAfterFirstVerify(binary: string): void {
  try {
    const { swapFromLauncher } = createRequire(join(packageDir, 'package.json'))(join(packageDir, 'lib', 'swap.cjs')) as typeof import('./swap.js');
    swapFromLauncher(packageDir, binary);
  } catch {
    // never fail the user's command over an optimisation: keep the launcher
  }
}

function resolveBinary(manifest: AoManifest): string {
  const override = fromOverride();
  if (override) return override;
  const wanted = preferredTargets(hostFacts());
  const release = { name: manifest.name, version: manifest.version };
  const req = createRequire(join(packageDir, 'package.json'));
  for (const target of wanted) {
    const entry: BinaryEntry | undefined = manifest.binaries[target];
    if (!entry) continue;
    const found = findPlatformPackage(req, entry);
    if (found) {
      if (verifyBinaryOnce(found.binary, entry, release, () => found.version())) swapAfterFirstVerify(found.binary);
      return found.binary;
    }
    // Where the postinstall puts a package it had to fetch itself.
    const cached = cachedBinaryPath(entry);
    if (existsSync(cached)) {
      if (verifyBinaryOnce(cached, entry, release, () => undefined)) swapAfterFirstVerify(cached);
      return cached;
    }
  }
  const present = Object.keys(manifest.binaries).filter((t) => !wanted.includes(t) && findPlatformPackage(req, manifest.binaries[t]));
  const global = isGlobalInstall(packageDir);
  throw diagnoseMissingBinary({
    manifest,
    wanted,
    presentTargets: present,
    lockfileTargets: global ? undefined : lockfileTargets(packageDir, manifest),
    installer: installerOf(packageDir, process.versions.pnp),
    global,
  });
}

function run(binary: string): void {
  const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward(signal));
  child.on('error', (err) => die(new UserError({ what: `cannot run ${binary}`, why: err.message, fix: `check the file exists and is executable: ls -l ${binary}`, code: 'EAOSPAWN' })));
  child.on('exit', (code, signal) => {
    if (!signal) process.exit(code ?? 1);
    // Die of the same signal so our parent (a shell: 128+n) sees what the child saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    setTimeout(() => process.exit(128 + ((osConstants.signals as Record<string, number>)[signal] ?? 1)), 100);
  });
}

function main(): void {
  let binary: string;
  try {
    const manifest = JSON.parse(readFileSync(join(packageDir, MANIFEST_FILE), 'utf8')) as AoManifest;
    binary = resolveBinary(manifest);
  } catch (err) {
    die(err);
  }
  legacyNotice('launch');
  run(binary);
}

main();
