/**
 * The entry the 0.9.6 bridge bundles (release/bridge.ts) into one CommonJS
 * file: the legacy CLI's `ao update` calls `runUpdate(argv)`. The install step
 * replaces this package's files on disk, so everything is bundled and nothing
 * is required lazily; the bundle's own bytes are read at start-up and saved as
 * `~/.ao/cutover/resume.cjs`, which finishes or rolls back a crashed cutover
 * when `ao` on PATH is already the rewrite.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCutover } from './cutover.js';

declare const __AO_CUTOVER_TARGET__: string | undefined;

/** Written at build time by release/bridge.ts; `AO_CUTOVER_TARGET` only when running from source. */
export const CUTOVER_TARGET: string | undefined = typeof __AO_CUTOVER_TARGET__ === 'string' ? __AO_CUTOVER_TARGET__ : process.env.AO_CUTOVER_TARGET;

const selfFile = fileURLToPath(import.meta.url);
const selfBytes = selfFile.endsWith('.cjs') ? readFileSync(selfFile) : undefined;

export async function runUpdate(argv: string[]): Promise<number> {
  if (!CUTOVER_TARGET) {
    process.stderr.write('ao update: this build has no pinned cutover target\n');
    return 1;
  }
  return runCutover({ mode: 'update', argv, target: CUTOVER_TARGET, selfFile, selfBytes });
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(selfFile);
  } catch {
    return false;
  }
}

// `node resume.cjs [update] --yes`: the same cutover, run from the saved copy.
if (isMain()) {
  const args = process.argv.slice(2);
  void runUpdate(args[0] === 'update' ? args.slice(1) : args).then((code) => process.exit(code));
}
