// The only machine-wide change the foreign lane makes besides Debian packages:
// binfmt_misc running arm64 ELF files through qemu, which Node for arm64 needs
// to exec children (the launcher's spawn of `ao`). registerBinfmt() records
// what it changed in .cache/foreign/binfmt.json; undoBinfmt() undoes exactly
// that (disable the entry, unmount binfmt_misc if it mounted it) and is safe to
// call any number of times. `node scripts/foreign-teardown.mjs` runs the undo.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RECORD = join(ROOT, '.cache', 'foreign', 'binfmt.json');
const MISC = '/proc/sys/fs/binfmt_misc';
const ENTRY = 'qemu-aarch64';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

const entryEnabled = () => existsSync(join(MISC, ENTRY)) && readFileSync(join(MISC, ENTRY), 'utf8').startsWith('enabled');

/** Makes the kernel run arm64 ELF files through qemu-aarch64-static; returns what it changed. */
export function registerBinfmt() {
  const record = existsSync(RECORD) ? JSON.parse(readFileSync(RECORD, 'utf8')) : { mounted: false, enabled: false };
  if (!existsSync(join(MISC, 'status'))) {
    run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', MISC]);
    record.mounted = true;
  }
  mkdirSync(dirname(RECORD), { recursive: true });
  writeFileSync(RECORD, JSON.stringify(record));
  if (!entryEnabled()) {
    run('update-binfmts', ['--enable', ENTRY]);
    record.enabled = true;
  }
  writeFileSync(RECORD, JSON.stringify(record));
  return record;
}

/** Undoes what registerBinfmt() recorded; lines say what was undone. */
export function undoBinfmt() {
  if (!existsSync(RECORD)) return [];
  const record = JSON.parse(readFileSync(RECORD, 'utf8'));
  const done = [];
  if (record.enabled && entryEnabled()) {
    run('update-binfmts', ['--disable', ENTRY]);
    done.push(`disabled binfmt ${ENTRY}`);
  }
  if (record.mounted && existsSync(join(MISC, 'status'))) {
    run('umount', [MISC]);
    done.push(`unmounted ${MISC}`);
  }
  rmSync(RECORD, { force: true });
  return done;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const line of undoBinfmt()) process.stderr.write(`foreign-teardown: ${line}\n`);
}
