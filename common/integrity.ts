import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type PathLike } from 'node:fs';

/**
 * Hashes in the one form the toolkit stores and compares: the npm/SRI string
 * "sha512-<base64>". Node built-ins only, not ssri: this ships inside @aoagents/ao,
 * ao-app and the cutover bundles, which stay dependency-free and start fast; the
 * release tools read integrities through pacote/npm, which use ssri themselves.
 */
export interface FileDigest {
  integrity: string;
  size: number;
}

export function integrityOf(data: Buffer | string): string {
  return integrityOfHash(createHash('sha512').update(data));
}

/** The SRI string of a sha512 hash fed chunk by chunk (finishes the hash). */
export function integrityOfHash(hash: Hash): string {
  return `sha512-${hash.digest('base64')}`;
}

/** Streams a file through sha512 (1 MiB reads); the path may be a Buffer (names that are not UTF-8). */
export async function digestFile(path: PathLike): Promise<FileDigest> {
  const hash = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { integrity: integrityOfHash(hash), size };
}
