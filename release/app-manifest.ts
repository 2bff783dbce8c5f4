import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UserError } from '../common/errors.js';
import { digestFile } from '../common/integrity.js';
import { appTargets, type Matrix } from '../common/matrix.js';
import { checkOpenableApp, extractArtifact } from '../common/app-extract.js';
import { checkWindowsName } from '../common/archive-plan.js';
import { validateAppManifest, type AppManifest, type AppTarget } from '../common/app-manifest.js';
import { entryPayload, keyId, rotationPayload, signWith } from '../common/app-signing.js';

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
  /** Ed25519 private key (PEM or KeyObject) to sign each target's entry. */
  signingKey?: string | KeyObject;
  /** The key users trust today, when `signingKey` is a new one: it signs the hand-over (keyRotation). */
  previousSigningKey?: string | KeyObject;
  /**
   * The previous release's app manifest (its `publicKey` and `keyRotation`): the hand-overs it carries are carried on,
   * with its own when `previousSigningKey` hands over from its key, so a machine that skipped a release follows them all.
   */
  rotationHistory?: Pick<AppManifest, 'publicKey' | 'keyRotation'>;
  /** Targets without an artifact are left out instead of failing. */
  allowMissing?: boolean;
  /** Headroom over the real unpacked size (default 10%, at least 1 MiB). */
  marginRatio?: number;
}

function ed25519(key: string | KeyObject | undefined): KeyObject | undefined {
  const k = key === undefined ? undefined : typeof key === 'string' ? createPrivateKey(key) : key;
  if (k && k.asymmetricKeyType !== 'ed25519') {
    throw new UserError({
      what: 'cannot sign the app manifest',
      why: `the signing key is ${k.asymmetricKeyType}, not ed25519`,
      fix: 'openssl genpkey -algorithm ed25519 -out app-signing.pem',
      code: 'EAPPMANIFEST',
    });
  }
  return k;
}

/**
 * The checks `ao-app` makes on the user's machine before installing (the entry list, links,
 * sizes, CRCs, every byte written), run on a release artifact: the release refuses what users
 * would refuse. Unpacks into a temporary folder and removes it; returns the real unpacked size.
 */
export async function checkAppArtifact(file: string, format: AppTarget['format'], targetId: string): Promise<number> {
  const scratch = await mkdtemp(join(tmpdir(), 'ao-app-check-'));
  try {
    const entries = await extractArtifact(format, file, join(scratch, 'app'), Number.MAX_SAFE_INTEGER, basename(file));
    checkOpenableApp(targetId, format, file, entries);
    // Unpacked here on another OS: the names a Windows user's ao-app refuses before writing are refused here too.
    if (targetId.startsWith('win32-')) for (const e of entries) checkWindowsName(file, e.path);
    return format === 'AppImage' || format === 'exe' ? (await stat(file)).size : entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The manifest's `keyRotation`: a new hand-over from `previous` after the earlier ones `history` carried (with history's
 * own hand-over to its key), or history's hand-overs carried on unchanged while the key stays the same.
 */
function keyRotationFor(publicKey: string, previous: KeyObject | undefined, history: AppManifestOptions['rotationHistory']): Pick<AppManifest, 'keyRotation'> {
  const earlier = history?.keyRotation;
  const previousPublic = previous && createPublicKey(previous).export({ type: 'spki', format: 'pem' }).toString();
  // A history signed by another key would be dropped without a word, and users then refuse this release (ESIGNATURE).
  if (history && history.publicKey !== (previousPublic ?? publicKey))
    throw new UserError({
      what: 'cannot carry the key hand-overs of the history manifest (rotationHistory)',
      why: `it is signed by ${history.publicKey ? `key ${keyId(history.publicKey)}` : 'no key'}, not by ${previous ? 'the previous signing key' : 'this signing key'} (${keyId(previousPublic ?? publicKey)})`,
      fix: previous
        ? 'pass the manifest of the last release the previous key signed as the history'
        : 'pass the manifest of the last release this key signed as the history, or the previous key that handed over to it',
      code: 'EAPPMANIFEST',
    });
  if (!previousPublic) return earlier ? { keyRotation: earlier } : {};
  const chain = earlier ? [...(earlier.chain ?? []), { publicKey: previousPublic, signature: earlier.signature }] : [];
  return { keyRotation: { signature: signWith(previous, rotationPayload(publicKey)), ...(chain.length ? { chain } : {}) } };
}

export async function buildAppManifest(options: AppManifestOptions): Promise<AppManifest> {
  const key = ed25519(options.signingKey);
  const previous = ed25519(options.previousSigningKey);
  const margin = options.marginRatio ?? 0.1;
  const targets: Record<string, AppTarget> = {};
  // Targets without a desktop app (or left out of the release) get no entry: ao-app says there is none.
  for (const target of appTargets(options.matrix)) {
    const path = join(options.artifactsDir, target.app.file);
    let integrity: string;
    let size: number;
    try {
      ({ integrity, size } = await digestFile(path));
    } catch (cause) {
      if (options.allowMissing && (cause as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UserError({
        what: `cannot describe the desktop app for ${target.id}`,
        why: `${path} is missing or unreadable`,
        fix: `put ${target.app.file} (from the app build) into ${options.artifactsDir}`,
        code: 'EAPPMANIFEST',
        cause,
      });
    }
    let unpacked: number;
    try {
      unpacked = await checkAppArtifact(path, target.app.format, target.id);
    } catch (cause) {
      if (cause instanceof UserError && cause.code === 'EUNSAFEARCHIVE') {
        throw new UserError({
          what: `refusing the desktop app artifact ${target.app.file} (${target.id})`,
          why: `users' ao-app would refuse it: ${cause.why}`,
          fix: 'rebuild the artifact so it unpacks cleanly, then run app-manifest again',
          code: 'EAPPARTIFACT',
          cause,
        });
      }
      // This machine's own trouble unpacking it (a full or unwritable temp folder) says so itself.
      if (cause instanceof UserError) throw cause;
      throw new UserError({
        what: `cannot describe the desktop app for ${target.id}`,
        why: `${path} is not a readable ${target.app.format} (${(cause as Error).message})`,
        fix: 'rebuild the app artifact, then run app-manifest again',
        code: 'EAPPMANIFEST',
        cause,
      });
    }
    const entry: AppTarget = {
      file: target.app.file,
      format: target.app.format,
      urls: options.baseUrls.map((base) => `${base.replace(/\/+$/, '')}/${encodeURIComponent(target.app.file)}`),
      size,
      integrity,
      unpackedSizeLimit: unpacked + Math.max(Math.ceil(unpacked * margin), 1 << 20),
    };
    targets[target.id] = key ? { ...entry, signature: signWith(key, entryPayload(options.version, target.id, entry)) } : entry;
  }
  const publicKey = key ? createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString() : undefined;
  const manifest: AppManifest = {
    schema: 1,
    version: options.version,
    targets,
    ...(publicKey ? { publicKey } : {}),
    ...(publicKey ? keyRotationFor(publicKey, previous, options.rotationHistory) : {}),
  };
  return validateAppManifest(manifest, 'the generated app manifest');
}
