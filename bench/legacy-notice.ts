import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { legacyNotice } from '../postinstall/legacy-notice.js';
import { generateLegacyHome } from '../rehearsal/legacy-home.js';

const CALLS = 20_000;
const terminal = { isTTY: true, write: () => true };

function perCallUs(fn: () => unknown): number {
  for (let i = 0; i < 2_000; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn();
  return Number(process.hrtime.bigint() - start) / CALLS / 1000;
}

/** The legacy notice's cost on the launcher's path, per call, beside one stat() of a missing file. */
export async function run(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ao-bench-notice-'));
  try {
    const home = (name: string, legacy: boolean) => {
      const dir = join(root, name);
      mkdirSync(dir);
      if (legacy) generateLegacyHome(dir, { projects: 4, sessionsPerProject: 3 });
      return dir;
    };
    const none = home('none', false);
    const imported = home('imported', true);
    mkdirSync(join(imported, '.ao', 'legacy'), { recursive: true });
    writeFileSync(join(imported, '.ao', 'legacy', 'imported.json'), '{}');
    const shown = home('shown', true);
    legacyNotice('launch', { HOME: shown }, terminal);
    const stat = perCallUs(() => statSync(join(none, '.agent-orchestrator'), { throwIfNoEntry: false }));
    const rows: Array<[string, number]> = [
      ['no legacy home', perCallUs(() => legacyNotice('launch', { HOME: none }, terminal))],
      ['legacy home, imported', perCallUs(() => legacyNotice('launch', { HOME: imported }, terminal))],
      ['legacy home, not imported, shown today', perCallUs(() => legacyNotice('launch', { HOME: shown }, terminal))],
    ];
    for (const [label, us] of rows)
      console.log(`legacy notice, ${label}: ${us.toFixed(2)} µs per call (${(us / stat).toFixed(1)}x one stat of a missing file, ${stat.toFixed(2)} µs)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
