/**
 * `bin/ao` of @aoagents/ao, the launcher's first file: what pnpm, yarn and bun shims (and npm with scripts
 * blocked) run through node on every `ao` call. On the usual path (Node with process.execve, the platform binary
 * verified before: a stamp hit) it replaces itself with the binary having compiled only this small file, since
 * V8 parses the whole of a file it loads and the full launcher is many times larger. Anything else (no stamp or a
 * stale one, AO_BINARY_PATH, Windows, Node without process.execve, a binary fetched into the cache, any error)
 * loads the full launcher (`lib/launcher-full.cjs`, launcher.ts), which makes every check again and says what is
 * wrong. Each check here is the full launcher's own function, not a copy of it.
 */
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { MANIFEST_FILE, type AoManifest } from '../common/ao-manifest.js';
import { formatError, UserError } from '../common/errors.js';
import { realPath } from '../common/own-path.js';
import { execRefusal, execveHere, sameFileAs } from './exec-binary.js';
import { hostFacts, preferredTargets } from './host.js';
import { whenInstallSettles } from './install-settle.js';
import { inPackageFolder, launcherCopy, ownPackage } from './launcher-copy.js';
import { legacyNotice } from './legacy-notice.js';
import { writableCacheRoot } from './locations.js';
import { findPlatformPackage } from './resolve.js';
import { hasValidStamp } from './verify-binary.js';

/** The full launcher, in the package's lib/ (release/main-package.ts ships it there). */
const FULL_LAUNCHER = 'launcher-full.cjs';

const self = ownPath(import.meta.filename);
const packageDir = join(dirname(self), '..');

/**
 * This file's real path, or the path Node started it by when its folder has just gone: npm moves ao's folder aside to
 * put another release in its place, and the wait for the install in progress (fullLauncher) meets that one there.
 */
function ownPath(file: string): string {
  try {
    return realPath(file);
  } catch {
    return file;
  }
}

/** The platform binary (and its stat when checked) when it can replace this process right away, undefined when the full launcher must decide. */
function verifiedBinary(): { binary: string; checked: Stats } | undefined {
  // An AO_BINARY_PATH comes first, and is spawned, never exec'd; Node's permission model (`--permission`, which may
  // refuse the exec) gets the full launcher's message. (A Node old enough to lack getBuiltinModule has no execve either.)
  if (process.env.AO_BINARY_PATH || (process as { permission?: unknown }).permission) return undefined;
  const manifest = JSON.parse(readFileSync(join(packageDir, MANIFEST_FILE), 'utf8')) as AoManifest;
  const entry = manifest.binaries[preferredTargets(hostFacts())[0]!];
  if (!entry) return undefined;
  const found = findPlatformPackage(packageDir, entry);
  const checked = found && statSync(found.binary);
  if (!found || !checked || !hasValidStamp(found.binary, checked, entry, writableCacheRoot(packageDir))) return undefined;
  return execRefusal(found.binary) ? undefined : { binary: found.binary, checked };
}

function fullLauncher(): void {
  const full = join(packageDir, 'lib', FULL_LAUNCHER);
  // Both come from loading the file, before any of it ran: loading it again is safe.
  const incomplete = (err: unknown) => err instanceof SyntaxError || ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && !existsSync(full));
  const ours = inPackageFolder(packageDir);
  // ao's package, partly written (yarn 1 unlinks package.json with the rest), or its folder moved aside for the
  // moment; a copy of the launcher elsewhere is neither.
  const installing = () => ours || ownPackage(packageDir) !== undefined || !existsSync(packageDir);
  try {
    // An upgrade extracting in place (yarn 1, bun; npm into ao's new folder) writes bin/ before lib/, and a file in
    // pieces: a call in between waits for the install in progress, as the full launcher does for the platform package.
    whenInstallSettles(
      packageDir,
      () => require(full),
      (err) => incomplete(err) && installing(),
    );
  } catch (cause) {
    if (!incomplete(cause)) throw cause;
    const own = ownPackage(packageDir);
    const gone = !existsSync(full);
    const err = !existsSync(packageDir)
      ? new UserError({
          what: `${packageDir} is gone`,
          why: 'ao was uninstalled or moved while this call started',
          fix: 'install ao again (npm install -g @aoagents/ao, or with the package manager you use)',
          code: 'EAOINTEGRITY',
        })
      : !own && !ours
        ? launcherCopy(self, full)
        : new UserError({
            what: `${full} is ${gone ? 'missing' : 'damaged'}`,
            why: `the package is incomplete: the launcher is only partly there${gone ? '' : ` (${(cause as Error).message})`}`,
            fix: `reinstall ${own ? `${own.name}@${own.version}` : '@aoagents/ao'} with the package manager that installed it`,
            code: 'EAOINTEGRITY',
          });
    process.stderr.write(formatError(err) + '\n');
    process.exit(1);
  }
}

function main(): void {
  const execve = execveHere();
  try {
    const found = execve && verifiedBinary();
    if (execve && found) {
      legacyNotice('launch');
      // Still the file the stamp vouched for (an upgrade may have written it anew since), checked last, right before the
      // hand-over; else the full launcher looks again.
      if (sameFileAs(found.binary, found.checked)) execve(found.binary, [found.binary, ...process.argv.slice(2)], process.env);
    }
  } catch {
    // whatever it is, the full launcher meets it again and explains it
  }
  fullLauncher();
}

main();
