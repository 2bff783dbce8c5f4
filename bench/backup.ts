import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBackup } from '../installer/cutover/backup/create.js';
import { legacyRoots } from '../installer/cutover/backup/manifest.js';
import { generateLegacyHome } from '../rehearsal/legacy-home.js';

const exec = promisify(execFile);

/**
 * The cutover's backup (copy + sha512 of every file + manifest, built in a
 * .partial folder and renamed) against `cp -a` of the same generated legacy
 * home, side by side in one process, alternating, median of the rounds.
 */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(rounds = 5): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ao-bench-backup-'));
  try {
    const home = join(root, 'home');
    const facts = generateLegacyHome(home, { projects: 40, sessionsPerProject: 25, claude: true, codex: true, opencode: true, corrupt: true, seed: 11 });
    const aoHome = join(home, '.ao');
    const roots = legacyRoots(home, { aoHome, dataDir: join(aoHome, 'data') }, {});
    const ours: number[] = [];
    const cp: number[] = [];
    let files = 0;
    let bytes = 0;
    for (let i = 0; i < rounds; i++) {
      const a = join(root, `ours-${i}`);
      const b = join(root, `cp-${i}`);
      ours.push(
        await timed(async () => {
          const m = await createBackup(a, roots);
          files = m.files.length;
          bytes = m.bytes;
        }),
      );
      cp.push(await timed(() => exec('cp', ['-a', roots.legacyBase, b])));
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
    const o = median(ours);
    const c = median(cp);
    console.log(`backup: legacy home of ${facts.sessions.size} sessions, ${files} files, ${(bytes / 1e6).toFixed(1)} MB, median of ${rounds} rounds`);
    console.log(`  cutover backup (copy + sha512 + manifest): ${o.toFixed(0)} ms`);
    console.log(`  cp -a (copy only, baseline):               ${c.toFixed(0)} ms`);
    console.log(`  ratio backup / cp -a: ${(o / c).toFixed(2)}x`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
