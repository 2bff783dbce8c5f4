import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportLegacyHome } from '../installer/cutover/legacy/export.js';
import { hostFixtureBinary } from '../rehearsal/fixture-binaries.js';
import { generateLegacyHome } from '../rehearsal/legacy-home.js';

const exec = promisify(execFile);
const GOAL_MS = 10_000;

/** The I/O floor: read every file under `dir` once, with no parsing. */
function readEverything(dir: string): number {
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) bytes += readEverything(path);
    else if (e.isFile()) bytes += readFileSync(path).length;
  }
  return bytes;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Legacy home of 10,000 sessions in 200 projects: export + fixture import against the goal, and against reading the tree raw. */
export async function run(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ao-bench-import-'));
  try {
    const home = join(root, 'home');
    const ao = await hostFixtureBinary('0.10.0');
    const [facts, genMs] = await timed(() =>
      generateLegacyHome(home, { projects: 200, sessionsPerProject: 50, corrupt: true, claude: true, codex: true, opencode: true, seed: 10_000 }),
    );
    const [bytes, floorMs] = await timed(() => readEverything(home));
    const [{ bundle, report }, exportMs] = await timed(() => exportLegacyHome({ home, env: { HOME: home } }));
    const bundleFile = join(root, 'bundle.json');
    const [, writeMs] = await timed(() => writeFileSync(bundleFile, JSON.stringify(bundle)));
    // The fixture's optional session import (docs/rewrite-contract.md); its store goes to a data dir of its own.
    const env = { ...process.env, HOME: home, AO_DATA_DIR: join(root, 'ao-data'), AO_RUN_FILE: join(root, 'running.json') };
    const importArgs = ['import', '--sessions-from', bundleFile, '--yes', '--json'];
    const [out, importMs] = await timed(async () => JSON.parse((await exec(ao, importArgs, { env, maxBuffer: 1 << 26 })).stdout));
    const [again, reimportMs] = await timed(async () => JSON.parse((await exec(ao, importArgs, { env, maxBuffer: 1 << 26 })).stdout));
    if (out.sessionsImported !== facts.sessions.size || again.sessionsSkipped !== facts.sessions.size) {
      throw new Error(`import counts do not match the ${facts.sessions.size} generated sessions: ${JSON.stringify(out)} / ${JSON.stringify(again)}`);
    }
    const total = exportMs + writeMs + importMs;
    const f = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    console.log(`import: legacy home of ${report.sessions} sessions / ${report.projects} projects (${(bytes / 1e6).toFixed(1)} MB, generated in ${f(genMs)})`);
    console.log(
      `import:   resume ids claude ${report.resumeIds.claude}, codex ${report.resumeIds.codex}, opencode ${report.resumeIds.opencode}; quarantined ${report.quarantined}`,
    );
    console.log(`import:   raw read of every file (floor)  ${f(floorMs)}`);
    console.log(`import:   export to bundle                 ${f(exportMs)}  (${(exportMs / floorMs).toFixed(2)}x the raw read)`);
    console.log(`import:   write bundle (${(readFileSync(bundleFile).length / 1e6).toFixed(1)} MB)           ${f(writeMs)}`);
    console.log(`import:   fixture ao import                ${f(importMs)}; re-import (idempotent) ${f(reimportMs)}`);
    console.log(
      `import:   export + import                  ${f(total)}  (${(total / GOAL_MS).toFixed(2)}x the ${GOAL_MS / 1000} s goal) ${total <= GOAL_MS ? 'OK' : 'OVER GOAL'}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
