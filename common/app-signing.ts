import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { AppTarget } from './app-manifest.js';

/**
 * What a desktop app manifest's signatures cover, shared by the release that
 * signs (release/app-manifest.ts) and ao-app that checks (installer/app/trust.ts):
 * a target's entry as canonical JSON, and for a key rotation the new key's SPKI bytes.
 */
export function keyId(publicKey: string | KeyObject): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 16);
}

export function entryPayload(version: string, targetId: string, t: Pick<AppTarget, 'file' | 'format' | 'size' | 'integrity' | 'unpackedSizeLimit'>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schema: 1,
      version,
      target: targetId,
      file: t.file,
      format: t.format,
      size: t.size,
      integrity: t.integrity,
      unpackedSizeLimit: t.unpackedSizeLimit,
    }),
  );
}

/** What an old key signs to hand trust to a new one: the new key's SPKI bytes. */
export function rotationPayload(newPublicKey: string): Buffer {
  return createPublicKey(newPublicKey).export({ type: 'spki', format: 'der' });
}

export function signWith(privateKey: KeyObject, payload: Buffer): string {
  return sign(null, payload, privateKey).toString('base64');
}

export function verifies(publicKey: string, payload: Buffer, signature: string): boolean {
  try {
    return verify(null, payload, createPublicKey(publicKey), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
