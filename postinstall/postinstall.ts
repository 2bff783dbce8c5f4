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
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatError, isUserError, UserError } from '../common/errors.js';
import { versionFromOutput } from '../common/version-output.js';
import { diagnoseMissingBinary, installerOf } from './diagnose.js';
import { hostFacts, preferredTargets } from './host.js';
import { expectedReportedVersion, MANIFEST_FILE, type AoManifest, type BinaryEntry } from './manifest.js';
import { findPlatformPackage, isGlobalInstall } from './resolve.js';
import { npmBinLink, swapIn } from './swap.js';
import { checkBinary, writeStamp } from './verify.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function say(text: string): void {
  process.stderr.write(text + '\n');
}

function verifyFully(binary: string, entry: BinaryEntry, manifest: AoManifest, runnable: boolean): void {
  const problem = checkBinary(binary, entry);
  if (problem) {
    throw new UserError({ what: `refusing ${entry.package}@${entry.version}`, why: `${problem.detail}: the file is not the one released`, fix: `reinstall: npm install -g ${manifest.name}@${manifest.version} (report it if it happens again)`, code: 'EAOINTEGRITY' });
  }
  if (!runnable) return;
  let out: string;
  try {
    out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (cause) {
    throw new UserError({ what: `${binary} --version failed`, why: (cause as Error).message.split('\n')[0], fix: `run ${binary} --version to see why`, code: 'EAOVERSION', cause });
  }
  const reported = versionFromOutput(out);
  const expected = expectedReportedVersion(entry, manifest);
  if (reported !== expected) {
    const released = expected === manifest.version ? '' : ` (released unstamped: it was recorded as reporting "${expected}")`;
    throw new UserError({ what: `${binary} reports version ${reported ?? JSON.stringify(out)}`, why: `${manifest.name} is ${manifest.version}${released}`, fix: `npm install -g ${manifest.name}@${manifest.version}`, code: 'EAOVERSION' });
  }
  writeStamp(binary, statSync(binary), entry);
}

/**
 * npm runs bins through their symlink, so the native binary can take the
 * launcher's place. yarn 1 and pnpm run `node <file>`, bun and Windows use
 * shims: they keep the launcher.
 */
function swapAllowed(): string | undefined {
  if (process.platform === 'win32') return 'Windows runs bins through a .cmd shim';
  const agent = process.env.npm_config_user_agent ?? '';
  if (!agent.startsWith('npm/')) return `${agent.split(' ')[0] || 'this package manager'} runs bins through node`;
  if (!npmBinLink(packageDir)) return 'the ao bin link is not a plain symlink to bin/ao';
  return undefined;
}

async function main(): Promise<number> {
  const manifest = JSON.parse(readFileSync(join(packageDir, MANIFEST_FILE), 'utf8')) as AoManifest;
  const req = createRequire(join(packageDir, 'package.json'));
  // `npm install --os=darwin --cpu=arm64` installs for another machine: check that platform's binary, run nothing.
  const forOs = process.env.npm_config_os;
  const forCpu = process.env.npm_config_cpu;
  const crossInstall = Boolean((forOs && forOs !== process.platform) || (forCpu && forCpu !== process.arch));
  const wanted = crossInstall ? [`${forOs ?? process.platform}-${forCpu ?? process.arch}`] : preferredTargets(hostFacts());

  for (const target of wanted) {
    const entry = manifest.binaries[target];
    const found = entry && findPlatformPackage(req, entry);
    if (!found) continue;
    verifyFully(found.binary, entry, manifest, !crossInstall);
    if (!crossInstall) trySwap(found.binary);
    return 0;
  }
  if (crossInstall) return 0;

  const entry = wanted.map((t) => manifest.binaries[t]).find(Boolean);
  const global = isGlobalInstall(packageDir);
  if (!entry) {
    say(formatError(diagnoseMissingBinary({ manifest, wanted, presentTargets: [], installer: installerOf(packageDir, process.versions.pnp), global })));
    return 0;
  }
  try {
    const fetchRequire = createRequire(__filename_);
    const { fetchPlatformBinary } = fetchRequire(join(packageDir, 'lib', 'fetch-platform.cjs')) as typeof import('./fetch-platform.js');
    say(`ao: ${entry.package} is not installed (optional dependencies omitted?); fetching ${entry.package}@${entry.version}`);
    const binary = await fetchPlatformBinary(entry, process.env.INIT_CWD ?? process.cwd());
    verifyFully(binary, entry, manifest, true);
    say(`ao: verified and installed ${binary}`);
    trySwap(binary);
  } catch (err) {
    say(formatError(err));
    say(`ao: the install continues; \`ao\` will say what is missing. To fix: npm install -g ${manifest.name}@${manifest.version} --include=optional`);
  }
  return 0;
}

const __filename_ = fileURLToPath(import.meta.url);

function trySwap(binary: string): void {
  if (swapAllowed()) return;
  try {
    swapIn(packageDir, binary);
  } catch (err) {
    say(`ao: could not replace the launcher with the native binary (${(err as Error).message}); ao works, it just starts through Node`);
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
