// Installs Debian packages as root when a tool the toolkit's tests or rehearsal need is missing
// (scripts/ensure-tools.mjs, scripts/foreign-setup.mjs).
import { spawnSync } from 'node:child_process';

/** `apt-get install` of `packages` (an `apt-get update` first if the lists are stale); the reason it could not, or undefined. */
export function aptInstall(packages, say = (m) => process.stderr.write(`${m}\n`)) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return `${packages.join(', ')} missing and not root (fix: sudo apt-get install -y --no-install-recommends ${packages.join(' ')})`;
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return `${packages.join(', ')} missing and no apt-get on this machine`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  say(`installing ${packages.join(' ')} from Debian`);
  let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
  }
  return r.status === 0 ? undefined : `apt-get install ${packages.join(' ')} failed (exit ${r.status})`;
}
