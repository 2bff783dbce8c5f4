#!/usr/bin/env node
// `ao-release` from a checkout: runs the compiled release tools in dist/ (npm run build).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../dist/release/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(
    `ao-release: the release tools are not built\n  why: ${cli} is missing\n  fix: npm ci && npm run build (in the toolkit checkout), then run ao-release again\n`,
  );
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
