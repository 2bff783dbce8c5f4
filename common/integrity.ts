import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Hashes in the one form the toolkit stores and compares: the npm/SRI string
 * "sha512-<base64>". Node built-ins only: this ships inside @aoagents/ao.
 */
export interface FileDigest {
  integrity: string;
  size: number;
}

export function integrityOf(data: Buffer | string): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { integrity: `sha512-${hash.digest('base64')}`, size };
}

/** sha512 hex, the form `sha512sum` prints, for people comparing by hand. */
export function integrityToHex(integrity: string): string {
  const b64 = integrity.replace(/^sha512-/, '');
  return Buffer.from(b64, 'base64').toString('hex');
}

export function sameIntegrity(a: string, b: string): boolean {
  return a.trim() === b.trim();
}
