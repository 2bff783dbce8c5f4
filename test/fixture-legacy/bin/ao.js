#!/usr/bin/env node
// Stand-in for the legacy TypeScript ao CLI. `ao update` does what 0.9.x
// does: install @latest with the package manager that installed it. The
// 0.9.6 bridge adds cutover/cutover.cjs, and its `ao update` runs that instead.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, realpathSync } = require('node:fs');
const { join } = require('node:path');
const os = require('node:os');

const pkg = require('../package.json');
const [cmd, ...rest] = process.argv.slice(2);

if (cmd === '--version' || cmd === '-v') {
  console.log(pkg.version);
} else if (cmd === 'update') {
  const cutover = join(__dirname, '..', 'cutover', 'cutover.cjs');
  if (existsSync(cutover)) {
    // Loaded whole before the install step replaces this package on disk.
    require(cutover).runUpdate(rest).then((code) => process.exit(code));
  } else {
    const here = realpathSync(__dirname).split('\\').join('/');
    const [bin, args] = here.includes('/pnpm/global/') ? ['pnpm', ['add', '-g', '@aoagents/ao@latest']] : ['npm', ['install', '-g', '@aoagents/ao@latest']];
    console.error(`ao update: ${bin} ${args.join(' ')}`);
    const res = spawnSync(bin, args, { stdio: 'inherit', shell: process.platform === 'win32' });
    process.exit(res.status ?? 1);
  }
} else if (cmd === 'status') {
  const base = join(os.homedir(), '.agent-orchestrator');
  const entries = existsSync(base) ? readdirSync(base) : [];
  console.log(JSON.stringify({ legacy: true, version: pkg.version, home: base, entries: entries.length }));
} else {
  console.error('usage: ao <--version|update|status>');
  process.exit(2);
}
