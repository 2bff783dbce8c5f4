/**
 * The `ao` command of @aoagents/ao: finds the platform binary and runs it,
 * passing arguments, stdio, the exit code and signals through unchanged.
 * It runs on every `ao` call where the postinstall did not swap in the native
 * binary, so it imports Node built-ins only and does as little as possible.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE, type AoManifest } from './manifest.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function fail(lines: string[]): never {
  process.stderr.write(lines.map((l, i) => (i === 0 ? `ao: ${l}` : `  ${l}`)).join('\n') + '\n');
  process.exit(1);
}

function resolveBinary(manifest: AoManifest): string {
  const override = process.env.AO_BINARY_PATH;
  if (override) return override;
  const key = `${process.platform}-${process.arch}`;
  const entry = manifest.binaries[key];
  if (!entry) {
    fail([`no ao binary for ${key}`, `supported: ${Object.keys(manifest.binaries).join(', ')}`]);
  }
  try {
    const pkgJson = createRequire(join(packageDir, 'package.json')).resolve(`${entry.package}/package.json`);
    return join(dirname(pkgJson), entry.path);
  } catch {
    fail([
      `the platform package ${entry.package} is not installed`,
      `fix: npm install -g ${manifest.name}@${manifest.version} --include=optional`,
    ]);
  }
}

function main(): void {
  const manifest = JSON.parse(readFileSync(join(packageDir, MANIFEST_FILE), 'utf8')) as AoManifest;
  const binary = resolveBinary(manifest);
  const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit', windowsHide: false });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward(signal));
  child.on('error', (err) => fail([`cannot run ${binary}`, err.message]));
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal so our parent sees what the child saw.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

main();
