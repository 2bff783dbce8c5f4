// Makes sure a Go toolchain is on PATH for building the fixture binaries.
// On a fresh Debian machine it installs Debian's golang-go (needs root).
import { execFileSync, spawnSync } from 'node:child_process';

function hasGo() {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

if (!hasGo()) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error('ao-toolkit: Go is needed to build the fixture binaries and `go` is not on PATH.');
    console.error('  fix: sudo apt-get install -y golang-go   (or install Go >= 1.19 another way)');
    process.exit(1);
  }
  console.error('ao-toolkit: installing Go from Debian (apt-get install -y golang-go)...');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'golang-go'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!hasGo()) {
    console.error('ao-toolkit: golang-go was installed but `go` is still not on PATH.');
    process.exit(1);
  }
}
