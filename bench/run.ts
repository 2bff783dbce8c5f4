#!/usr/bin/env node
import { readdirSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs every bench module beside this file (each exports `run()`), or only the ones
 * named on the command line: `node dist/bench/run.js publish`.
 */
const here = dirname(fileURLToPath(import.meta.url));
const ext = extname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`) && basename(f, ext) !== 'run')
  .map((f) => basename(f, ext))
  .sort();
const unknown = wanted.filter((w) => !modules.includes(w));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: no bench named ${unknown.join(', ')}\n  why: the benches are ${modules.join(', ')}\n  fix: node dist/bench/run.js [${modules.join('|')}]\n`,
  );
  process.exit(2);
}
// This sandbox sets NODE_EXTRA_CA_CERTS; Node 20 parses that bundle at every start (+50 ms here; Node 22 only
// when TLS is used), which would bury a launcher's few ms in noise. No bench uses TLS. Unset here, once, so
// every bench runs in the same environment whether run alone or with the others.
delete process.env.NODE_EXTRA_CA_CERTS;
let failed = 0;
for (const name of wanted.length > 0 ? wanted : modules) {
  process.stdout.write(`\n== bench ${name} ==\n`);
  try {
    const mod = (await import(pathToFileURL(`${here}/${name}${ext}`).href)) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') throw new Error(`bench/${name}${ext} does not export run()`);
    await mod.run();
  } catch (err) {
    failed++;
    process.stderr.write(`bench ${name} failed: ${(err as Error).stack ?? err}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
