import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isUserError, UserError } from '../common/errors.js';
import { writeJsonAtomic } from '../common/fs-atomic.js';
import type { Matrix } from '../common/matrix.js';
import { checkOpenableApp, extractArtifact } from '../common/app-extract.js';
import type { AppManifest } from '../common/app-manifest.js';
import { buildAppManifest } from './app-manifest.js';
import { checkReleaseApp } from './stage.js';

/**
 * Unpacks every artifact with ao-app's own extraction (the same entry-list checks and size cap
 * users' machines apply) into a throwaway folder: an artifact users would refuse is refused
 * here, before anything is published.
 */
export async function checkAppArtifacts(manifest: AppManifest, artifactsDir: string): Promise<void> {
  for (const [id, entry] of Object.entries(manifest.targets)) {
    const work = await mkdtemp(join(tmpdir(), 'ao-app-check-'));
    try {
      const artifact = join(artifactsDir, entry.file);
      checkOpenableApp(id, entry.format, artifact, await extractArtifact(entry.format, artifact, join(work, 'app'), entry.unpackedSizeLimit, entry.file));
    } catch (err) {
      if (!isUserError(err)) throw err;
      throw new UserError({
        what: `refusing the desktop app artifact ${entry.file} (${id})`,
        why: `users' ao-app would refuse it: ${err.why}`,
        fix:
          entry.format === 'tar.gz'
            ? `rebuild it with plain entry names, e.g. tar czf ${entry.file} -C <app-dir> <top-folder> (no "./" entries), then run app-manifest again`
            : 'rebuild the artifact so it unpacks cleanly, then run app-manifest again',
        code: 'EAPPARTIFACT',
        cause: err,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

export interface AppManifestRequest {
  matrix: Matrix;
  version: string;
  artifactsDir: string;
  /** Primary first, then mirrors. */
  baseUrls: string[];
  keyFile: string;
  out: string;
}

/** `ao-release app-manifest`: hash, sign, check as users will, and write the manifest stage --app takes. */
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
  await checkAppArtifacts(manifest, request.artifactsDir);
  await mkdir(dirname(request.out), { recursive: true });
  await writeJsonAtomic(request.out, manifest);
  return { path: request.out, manifest };
}
