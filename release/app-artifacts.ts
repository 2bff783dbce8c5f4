import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isUserError, UserError } from '../common/errors.js';
import { writeJsonAtomic } from '../common/fs-atomic.js';
import type { Matrix } from '../common/matrix.js';
import type { AppManifest } from '../common/app-manifest.js';
import { buildAppManifest } from './app-manifest.js';
import { checkReleaseApp } from './stage.js';

export interface AppManifestRequest {
  matrix: Matrix;
  version: string;
  artifactsDir: string;
  /** Primary first, then mirrors. */
  baseUrls: string[];
  keyFile: string;
  out: string;
}

/** `ao-release app-manifest`: hash, check as users will (buildAppManifest unpacks each artifact once), sign, and write the manifest stage --app takes. */
export async function writeAppManifest(request: AppManifestRequest): Promise<{ path: string; manifest: AppManifest }> {
  for (const url of request.baseUrls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol)) {
      throw new UserError({
        what: `cannot use ${JSON.stringify(url)} as a download URL`,
        why: 'ao-app downloads only from http(s) URLs',
        fix: 'pass --base-url https://<host>/<path> (and --mirror the same way)',
        code: 'EUSAGE',
      });
    }
  }
  let key: string;
  try {
    key = await readFile(request.keyFile, 'utf8');
  } catch (cause) {
    throw new UserError({
      what: `cannot read the signing key ${request.keyFile}`,
      why: (cause as Error).message,
      fix: 'openssl genpkey -algorithm ed25519 -out app-signing.pem (keep it secret), then pass --key app-signing.pem',
      code: 'EAPPMANIFEST',
      cause,
    });
  }
  let manifest: AppManifest;
  try {
    manifest = await buildAppManifest({
      matrix: request.matrix,
      version: request.version,
      artifactsDir: request.artifactsDir,
      baseUrls: request.baseUrls,
      signingKey: key,
    });
  } catch (err) {
    // A PEM that does not parse comes from node:crypto, not as a UserError.
    if (isUserError(err)) throw err;
    throw new UserError({
      what: `cannot sign with ${request.keyFile}`,
      why: (err as Error).message.split('\n')[0]!,
      fix: 'pass an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519 -out app-signing.pem)',
      code: 'EAPPMANIFEST',
      cause: err,
    });
  }
  checkReleaseApp(manifest, request.matrix, request.version);
  await mkdir(dirname(request.out), { recursive: true });
  await writeJsonAtomic(request.out, manifest);
  return { path: request.out, manifest };
}
