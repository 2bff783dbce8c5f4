import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import StreamZip from 'node-stream-zip';
import * as tar from 'tar';
import { UserError } from '../common/errors.js';
import { appTargets, type Matrix } from '../common/matrix.js';
import { validateAppManifest, type AppManifest, type AppTarget } from '../installer/app/manifest.js';

/**
 * Describes the desktop app artifacts of a release: per target, where to fetch
 * it, its size, sha512, how large it may grow unpacked, and optionally an
 * Ed25519 signature. stage() pins the result inside `ao-manifest.json`.
 */
export interface AppManifestOptions {
  matrix: Matrix;
  version: string;
  /** Folder holding the artifacts under the file names from matrix.json. */
  artifactsDir: string;
  /** Base URLs (primary first, then mirrors); the file name is appended. */
  baseUrls: string[];
  /** Ed25519 private key (PEM or KeyObject) to sign each artifact's sha512. */
  signingKey?: string | KeyObject;
  /** Targets without an artifact are left out instead of failing. */
  allowMissing?: boolean;
  /** Headroom over the real unpacked size (default 10%, at least 1 MiB). */
  marginRatio?: number;
}

async function sha512Of(path: string): Promise<{ digest: Buffer; size: number }> {
  const hash = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: hash.digest(), size };
}

/** The real total of the file bytes an artifact unpacks to. */
export async function unpackedSize(path: string, format: AppTarget['format']): Promise<number> {
  if (format === 'AppImage') return (await stat(path)).size;
  let total = 0;
  if (format === 'zip') {
    const zip = new StreamZip.async({ file: path, storeEntries: true });
    try {
      for (const entry of Object.values(await zip.entries())) total += entry.size;
    } finally {
      await zip.close();
    }
    return total;
  }
  await tar.t({ file: path, onReadEntry: (entry) => { total += entry.size ?? 0; } });
  return total;
}

export async function buildAppManifest(options: AppManifestOptions): Promise<AppManifest> {
  const key = options.signingKey === undefined ? undefined : typeof options.signingKey === 'string' ? createPrivateKey(options.signingKey) : options.signingKey;
  if (key && key.asymmetricKeyType !== 'ed25519') {
    throw new UserError({ what: 'cannot sign the app manifest', why: `the signing key is ${key.asymmetricKeyType}, not ed25519`, fix: 'openssl genpkey -algorithm ed25519 -out app-signing.pem', code: 'EAPPMANIFEST' });
  }
  const margin = options.marginRatio ?? 0.1;
  const targets: Record<string, AppTarget> = {};
  // Targets without a desktop app (or left out of the release) get no entry: ao-app says there is none.
  for (const target of appTargets(options.matrix)) {
    const path = join(options.artifactsDir, target.app.file);
    let digest: Buffer;
    let size: number;
    try {
      ({ digest, size } = await sha512Of(path));
    } catch (cause) {
      if (options.allowMissing && (cause as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UserError({ what: `cannot describe the desktop app for ${target.id}`, why: `${path} is missing or unreadable`, fix: `put ${target.app.file} (from the app build) into ${options.artifactsDir}`, code: 'EAPPMANIFEST', cause });
    }
    let unpacked: number;
    try {
      unpacked = await unpackedSize(path, target.app.format);
    } catch (cause) {
      throw new UserError({ what: `cannot describe the desktop app for ${target.id}`, why: `${path} is not a readable ${target.app.format} (${(cause as Error).message})`, fix: 'rebuild the app artifact', code: 'EAPPMANIFEST', cause });
    }
    targets[target.id] = {
      file: target.app.file,
      format: target.app.format,
      urls: options.baseUrls.map((base) => `${base.replace(/\/+$/, '')}/${encodeURIComponent(target.app.file)}`),
      size,
      integrity: `sha512-${digest.toString('base64')}`,
      unpackedSizeLimit: unpacked + Math.max(Math.ceil(unpacked * margin), 1 << 20),
      ...(key ? { signature: sign(null, digest, key).toString('base64') } : {}),
    };
  }
  const manifest: AppManifest = {
    schema: 1,
    version: options.version,
    targets,
    ...(key ? { publicKey: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString() } : {}),
  };
  return validateAppManifest(manifest, 'the generated app manifest');
}
