/**
 * `scripts.postinstall` of @aoagents/ao, shipped as lib/postinstall.cjs.
 * 1. Verify the platform binary: size and sha512 against ao-manifest.json,
 *    format and CPU, and `--version` against the release.
 * 2. Under npm on POSIX, where the bin link is a plain symlink to bin/ao, put
 *    the native binary in the launcher's place so `ao` costs no Node start-up.
 * 3. When the platform package is missing, fetch it (lib/fetch-platform.cjs).
 * An altered binary fails the install; anything optional that fails only
 * prints what failed and what to run, and leaves the launcher in place.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropWritesToClosedPipes } from '../common/closed-pipe.js';
import { removeKilledTempSiblings, tempSibling } from '../common/fs-atomic.js';
import { formatError, isUserError, UserError } from '../common/errors.js';
import { versionFromOutput } from '../common/version-output.js';
import { installLayout, reinstallCommand, swapBlocker } from '../common/install-layout.js';
import { blockedScriptFix, diagnoseMissingBinary, FETCH_OFFLINE, zippedByYarn } from './diagnose.js';
import { hostFacts, preferredTargets } from './host.js';
import { legacyNotice } from './legacy-notice.js';
import { expectedReportedVersion, MANIFEST_FILE, type AoManifest, type BinaryEntry } from '../common/ao-manifest.js';
import { CACHE_FOLDER_MODE, cachedBinaryPath, fetchCacheRoot, packageCacheRoot, writableCacheRoot } from './locations.js';
import { untrustedBy } from './ownership.js';
import { findPlatformPackage, inYarnZip, lockedTarball } from './resolve.js';
import { swapIn, sweepKilledSwaps } from './swap.js';
import { checkBinary, writeStamp } from './verify-binary.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const layout = installLayout(packageDir);
/** Where this run may write fetched binaries and stamps: never, as root, into another user's home. */
const cache = writableCacheRoot(packageDir);
/** The command that puts this release back for the install method in use. */
const reinstall = (manifest: AoManifest, platformDir?: string, binary?: string) =>
  reinstallCommand(layout, `${manifest.name}@${manifest.version}`, platformDir, binary);

function say(text: string): void {
  process.stderr.write(text + '\n');
}

/** Hashes, runs and stamps `binary`; returns its stat as hashed, for the swap to put that very file in place. */
function verifyFully(binary: string, entry: BinaryEntry, manifest: AoManifest, runnable: boolean, platformDir?: string): Stats {
  // The state hashed is the state stamped: a file put in the binary's place later (while its --version ran) was never
  // hashed, and a stamp of it would let bin/ao run it unchecked.
  const hashed = statSync(binary);
  const problem = checkBinary(binary, entry, hashed);
  if (problem) {
    throw new UserError({
      what: `refusing ${entry.package}@${entry.version}`,
      why: `${problem.detail}: the file is not the one released`,
      fix: `reinstall: ${reinstall(manifest, platformDir, platformDir && binary)}  (report it if it happens again)`,
      code: 'EAOINTEGRITY',
    });
  }
  if (!runnable) return hashed;
  let out: string;
  try {
    out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (cause) {
    throw new UserError({
      what: `${binary} --version failed`,
      why: (cause as Error).message.split('\n')[0]!,
      fix: `run ${binary} --version to see why`,
      code: 'EAOVERSION',
      cause,
    });
  }
  const reported = versionFromOutput(out);
  const expected = expectedReportedVersion(entry, manifest);
  if (reported !== expected) {
    const released = expected === manifest.version ? '' : ` (released unstamped: it was recorded as reporting "${expected}")`;
    throw new UserError({
      what: `${binary} reports version ${reported ?? JSON.stringify(out)}`,
      why: `${manifest.name} is ${manifest.version}${released}`,
      fix: reinstall(manifest, platformDir, platformDir && binary),
      code: 'EAOVERSION',
    });
  }
  // yarn dlx's throwaway project is gone once the call ends: a stamp per call for a file no later call meets.
  if (!layout.yarnDlx) writeStamp(binary, hashed, entry, cache);
  return hashed;
}

async function main(): Promise<number> {
  // A reader of the install's output that has gone (`--foreground-scripts 2>&1 | head`) must not fail the install.
  dropWritesToClosedPipes();
  legacyNotice('install');
  const manifest = JSON.parse(readFileSync(join(packageDir, MANIFEST_FILE), 'utf8')) as AoManifest;
  // `npm install --os=darwin --cpu=arm64` installs for another machine: check that platform's binary, run nothing.
  const forOs = process.env.npm_config_os;
  const forCpu = process.env.npm_config_cpu;
  const crossInstall = Boolean((forOs && forOs !== process.platform) || (forCpu && forCpu !== process.arch));
  const wanted = crossInstall ? [`${forOs ?? process.platform}-${forCpu ?? process.arch}`] : preferredTargets(hostFacts());

  // Before any hash: removing a killed swap's hard link moves the binary's ctime, by which the swap knows the file hashed.
  if (!crossInstall) sweepKilledSwaps(packageDir);
  for (const target of wanted) {
    const entry = manifest.binaries[target];
    const found = entry && findPlatformPackage(packageDir, entry);
    if (!found) continue;
    // Hashed through PnP's fs all the same: an altered binary fails the install there too.
    const zipped = inYarnZip(found.dir);
    const hashed = verifyFully(found.binary, entry, manifest, !crossInstall && !zipped, found.dir);
    if (zipped) say(formatError(zippedByYarn(found.binary, entry, layout.project)));
    else if (!crossInstall) trySwap(found.binary, entry, hashed);
    return 0;
  }
  if (crossInstall) return 0;

  /** `failed`: the error of this script's own fetch, when it ran and failed (so no script was blocked). */
  const missing = (failed?: unknown) =>
    diagnoseMissingBinary({
      fetchFailed: failed !== undefined,
      offline: isUserError(failed) && failed.code === FETCH_OFFLINE ? '--offline, or offline=true in an npmrc' : undefined,
      manifest,
      wanted,
      presentTargets: [],
      installer: layout.manager,
      global: layout.global,
      yarnBerry: layout.yarnBerry,
      project: layout.project,
    });
  const entry = wanted.map((t) => manifest.binaries[t]).find(Boolean);
  if (!entry) {
    say(formatError(missing()));
    return 0;
  }
  try {
    const fetchRequire = createRequire(__filename_);
    const { fetchPlatformBinary } = fetchRequire(join(packageDir, 'lib', 'fetch-platform.cjs')) as typeof import('./fetch-platform.js');
    say(`ao: ${entry.package} is not installed (optional dependencies omitted?); fetching ${entry.package}@${entry.version}`);
    const binary = await fetchPlatformBinary(
      entry,
      process.env.INIT_CWD ?? process.cwd(),
      fetchCacheRoot(packageDir, layout.global),
      lockedTarball(packageDir, entry),
    );
    // A cache another user can change (a shared AO_CACHE_DIR; root no longer writes into a user's home): check,
    // run and swap in a private copy, never their file.
    const untrusted = untrustedBy(binary);
    const copy = untrusted ? privateCopy(binary, entry) : undefined;
    const checked = copy?.path ?? binary;
    try {
      const hashed = verifyFully(checked, entry, manifest, true);
      say(untrusted ? `ao: verified and installed a private copy of ${binary} (${untrusted})` : `ao: verified and installed ${binary}`);
      trySwap(checked, entry, hashed);
    } catch (err) {
      if (copy) rmSync(copy.remove, { recursive: true, force: true });
      throw err;
    }
    if (copy?.temporary) rmSync(copy.remove, { recursive: true, force: true });
  } catch (err) {
    // Bytes that are not this release's stop the install, as they do in the platform package itself.
    if (isUserError(err) && err.code === 'EAOINTEGRITY') throw err;
    say(formatError(err));
    say(`ao: the install continues; \`ao\` will say what is missing. To fix: ${missing(err).fix}`);
  }
  return 0;
}

const __filename_ = fileURLToPath(import.meta.url);

/**
 * This user's own copy of a binary another user could change, kept where the launcher also looks (the package's
 * own cache): pnpm, yarn and bun keep the launcher, which would otherwise find only the other user's file and refuse
 * it. A temp folder, removed after the swap, when the package's folder cannot take it.
 */
function privateCopy(binary: string, entry: BinaryEntry): { path: string; remove: string; temporary: boolean } {
  const bytes = readFileSync(binary);
  const kept = cachedBinaryPath(entry, packageCacheRoot(packageDir));
  try {
    mkdirSync(dirname(kept), { recursive: true, mode: CACHE_FOLDER_MODE });
    removeKilledTempSiblings(kept, undefined, true);
    const tmp = tempSibling(kept);
    writeFileSync(tmp, bytes, { mode: 0o755 });
    renameSync(tmp, kept);
    return { path: kept, remove: kept, temporary: false };
  } catch {
    const folder = mkdtempSync(join(tmpdir(), 'ao-check-'));
    writeFileSync(join(folder, basename(binary)), bytes, { mode: 0o755 });
    return { path: join(folder, basename(binary)), remove: folder, temporary: true };
  }
}

function trySwap(binary: string, entry: BinaryEntry, hashed: Stats): void {
  const blocked = swapBlocker(packageDir, layout);
  if (blocked) {
    // Only where the launcher could have given way: elsewhere keeping it is simply how the manager works.
    if (layout.manager === 'npm' && !layout.pnp && process.platform !== 'win32') say(`ao: keeping the JS launcher: ${blocked}`);
    return;
  }
  try {
    swapIn(packageDir, binary, entry, hashed);
  } catch (err) {
    say(
      `ao: could not replace the launcher with the native binary (${(err as Error).message}); ao works, it just starts through Node. To swap it in: ${blockedScriptFix('npm', '@aoagents/ao', layout.global)}`,
    );
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(formatError(err));
    // An altered binary must stop the install; other surprises must not.
    process.exit(isUserError(err) && err.code === 'EAOINTEGRITY' ? 1 : 0);
  },
);
