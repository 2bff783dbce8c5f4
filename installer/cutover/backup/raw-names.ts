import { join, sep } from 'node:path';
import type { ManifestEntry } from './manifest.js';

/**
 * Paths are handled as bytes: a legacy name that is not valid UTF-8 is still a file the user owns, so it is
 * read, copied and checked under its raw name (a string would have turned it into a name that does not exist).
 */
export type FsPath = string | Buffer;
const SEP = Buffer.from(sep);

function isUtf8(b: Buffer): boolean {
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

export function joinRaw(base: FsPath, ...names: Buffer[]): FsPath {
  if (typeof base === 'string' && names.every(isUtf8)) return join(base, ...names.map((n) => n.toString('utf8')));
  return Buffer.concat([Buffer.from(base), ...names.flatMap((n) => [SEP, n])]);
}

export const display = (p: FsPath) => (typeof p === 'string' ? p : p.toString('utf8'));

export const relString = (rel: Buffer[]) => rel.map((n) => n.toString('utf8')).join('/');

export function entryPath(rel: Buffer[]): Pick<ManifestEntry, 'path' | 'pathBytes'> {
  const path = relString(rel);
  return rel.every(isUtf8) ? { path } : { path, pathBytes: Buffer.from(rel.map((n) => n.toString('latin1')).join('\u0000'), 'latin1').toString('base64') };
}

export function relOf(entry: Pick<ManifestEntry, 'path' | 'pathBytes'>): Buffer[] {
  if (entry.pathBytes)
    return Buffer.from(entry.pathBytes, 'base64')
      .toString('latin1')
      .split('\u0000')
      .map((n) => Buffer.from(n, 'latin1'));
  return entry.path ? entry.path.split('/').map((n) => Buffer.from(n, 'utf8')) : [];
}
