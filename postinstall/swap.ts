/**
 * Putting the native binary in the launcher's place (`<pkg>/bin/ao`), so `ao`
 * runs without a Node start-up. Used by the postinstall and, when scripts were
 * blocked, by the launcher right after its first verification (shipped as
 * lib/swap.cjs and loaded only then, to keep it off the launcher's usual path).
 * Only where the bin link is a plain symlink to bin/ao that the shell follows:
 * npm's `<prefix>/bin/ao` or `node_modules/.bin/ao`.
 */
import { accessSync, chmodSync, constants, copyFileSync, existsSync, linkSync, lstatSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { tempSibling } from '../common/fs-atomic.js';

const launcherOf = (packageDir: string) => join(packageDir, 'bin', 'ao');

/** The bin link npm made for us, global (<prefix>/bin/ao) or local (node_modules/.bin/ao). */
export function npmBinLink(packageDir: string): string | undefined {
  const candidates = [join(packageDir, '..', '..', '..', '..', 'bin', 'ao'), join(packageDir, '..', '..', '.bin', 'ao'), join(packageDir, '..', '.bin', 'ao')];
  const ours = realpathSync(launcherOf(packageDir));
  for (const link of candidates) {
    try {
      if (lstatSync(link).isSymbolicLink() && realpathSync(link) === ours) return link;
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * Why the launcher must stay, seen from the layout alone (the launcher has no
 * npm_config_user_agent): pnpm's shims run `node <file>`, yarn 1 runs bins
 * through node, Yarn PnP has no bin links, bun's global install
 * (`$BUN_INSTALL/install/global`) is left out, Windows uses .cmd shims.
 */
export function layoutBlocksSwap(packageDir: string): string | undefined {
  if (process.platform === 'win32') return 'Windows runs bins through a .cmd shim';
  if (process.versions.pnp) return 'Yarn PnP';
  const real = realpathSync(packageDir).replace(/\\/g, '/');
  if (/\/\.pnpm\/|\/pnpm\/global\//.test(real)) return 'pnpm runs bins through node';
  if (/\/install\/global\/node_modules\//.test(real)) return 'bun global: left out, its bin links were not checked';
  const nodeModules = basename(dirname(packageDir)).startsWith('@') ? dirname(dirname(packageDir)) : dirname(packageDir);
  if (existsSync(join(nodeModules, '.yarn-integrity'))) return 'yarn 1 runs bins through node';
  if (!npmBinLink(packageDir)) return 'the ao bin link is not a plain symlink to bin/ao';
  try {
    accessSync(join(packageDir, 'bin'), constants.W_OK);
  } catch {
    return `${join(packageDir, 'bin')} is not writable`;
  }
  return undefined;
}

/** Hard link (or copy) the verified binary to a temp sibling, then one rename: `ao` is the launcher or the binary, never half of one. */
export function swapIn(packageDir: string, binary: string): void {
  const launcher = launcherOf(packageDir);
  const tmp = tempSibling(launcher, 'swap');
  try {
    try {
      linkSync(binary, tmp);
    } catch {
      copyFileSync(binary, tmp);
    }
    chmodSync(tmp, 0o755);
    renameSync(tmp, launcher);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The launcher's first-run swap: silent and never failing, the command runs either way. */
export function swapFromLauncher(packageDir: string, binary: string): boolean {
  try {
    if (layoutBlocksSwap(packageDir)) return false;
    swapIn(packageDir, binary);
    return true;
  } catch {
    return false;
  }
}
