// Makes sure the tools a command needs are there, installing them from Debian as root on a fresh machine:
// `go` (required: the fixture binaries are built with it) and, for `npm test`, `qemu` (qemu-user-static: one test of
// the main lane runs the linux-arm64 fixture binary under it; without it that test is skipped, with the reason).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { aptInstall } from './apt-install.mjs';

const say = (m) => process.stderr.write(`ao-toolkit: ${m}\n`);
const hasGo = () => spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
const QEMU = '/usr/bin/qemu-aarch64-static';

const tools = process.argv.slice(2);
// Every name checked before anything is installed: a typo had been told only after Go's install, or never when it failed.
const KNOWN = ['go', 'qemu'];
const unknown = tools.filter((tool) => !KNOWN.includes(tool));
if (unknown.length > 0) {
  say(`ensure-tools: unknown tool ${unknown.join(', ')} (it knows ${KNOWN.join(' and ')})`);
  process.exit(2);
}

for (const tool of tools) {
  if (tool === 'go' && !hasGo()) {
    const problem = aptInstall(['golang-go'], say);
    if (problem || !hasGo()) {
      say(`Go is needed to build the fixture binaries and \`go\` is not on PATH: ${problem ?? 'golang-go was installed but go is still not on PATH'}`);
      say('  fix: sudo apt-get install -y golang-go   (or install Go >= 1.19 another way)');
      process.exit(1);
    }
  } else if (tool === 'qemu' && !existsSync(QEMU)) {
    const problem = aptInstall(['qemu-user-static'], say);
    if (problem) say(`the linux-arm64 test of the main lane will be skipped: ${problem}`);
  }
}
