import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'ao-legacy-'));
}

/** Writes `content` at `home/rel`, creating parents; optional mtime in ms. */
export function put(home: string, rel: string, content: string | Buffer, mtimeMs?: number): string {
  const path = join(home, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (mtimeMs !== undefined) utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
  return path;
}

/** Every path, its type, mode, size, mtime and content hash: equal digests mean an untouched tree. */
export function treeDigest(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const hash = st.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : '';
      lines.push(`${path} ${st.mode} ${st.size} ${st.mtimeMs} ${hash}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return createHash('sha256').update(lines.join('\n')).digest('hex') + ` (${lines.length} entries)`;
}
