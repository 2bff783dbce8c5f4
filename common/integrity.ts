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

/**
 * Artifacts, binaries and backups are pinned by sha512, npm's own choice. The files an app
 * archive unpacks to are recorded (for `ao-app verify`) by sha256: with the CPU's SHA
 * extensions it runs at twice sha512's speed (1.74 against 0.86 GB/s on this x64 machine;
 * Apple's arm64 has them too), and the unpacker hashes 254 MB on its busiest thread.
 */
export type DigestAlgorithm = 'sha512' | 'sha256';

export function integrityOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha512'): string {
  return integrityOfHash(createHash(algorithm).update(data), algorithm);
}

/** The SRI string of a hash fed chunk by chunk (finishes the hash); `algorithm` is the one it was created with. */
export function integrityOfHash(hash: Hash, algorithm: DigestAlgorithm = 'sha512'): string {
  return `${algorithm}-${hash.digest('base64')}`;
}

/** The algorithm an SRI string names, when it is one of ours. */
export function algorithmOf(integrity: string): DigestAlgorithm | undefined {
  const name = integrity.slice(0, integrity.indexOf('-'));
  return name === 'sha512' || name === 'sha256' ? name : undefined;
}

/** Streams a file through a hash (1 MiB reads); the path may be a Buffer (names that are not UTF-8). */
export async function digestFile(path: PathLike, algorithm: DigestAlgorithm = 'sha512'): Promise<FileDigest> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { integrity: integrityOfHash(hash, algorithm), size };
}
