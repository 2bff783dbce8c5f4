import { createPublicKey } from 'node:crypto';
import semver from 'semver';
import { UserError } from './errors.js';
import { namesCompletionMarker } from './archive-plan.js';

/**
 * The desktop app manifest: written by release/app-manifest.ts, carried inside
 * `ao-manifest.json` (field `app`) so its hashes arrive through npm's own
 * integrity chain. Ships inside @aoagents/ao (ao-app's bundle, with semver).
 */
/** `exe`: the Windows NSIS installer, verified then run with /S. */
export type AppFormat = 'zip' | 'tar.gz' | 'AppImage' | 'exe';

export interface AppTarget {
  file: string;
  format: AppFormat;
  /** Primary first, then mirrors, tried in turn. */
  urls: string[];
  size: number;
  integrity: string;
  /** Bytes the unpacked app may take; extraction stops past it. */
  unpackedSizeLimit: number;
  /** Base64 Ed25519 signature over this entry (trust.ts entryPayload), by `publicKey`. */
  signature?: string;
}

export interface AppManifest {
  schema: 1;
  version: string;
  targets: Record<string, AppTarget>;
  /** PEM (SPKI) Ed25519 key that signed the entries. It is trusted only if pinned or remembered (trust.ts). */
  publicKey?: string;
  /**
   * A new signing key handed over by an old one: the old key's signature over the new key's SPKI bytes. `chain`: the
   * hand-overs before it, oldest first, each key with the signature of the key before it over its SPKI bytes, so a
   * machine that skipped the release of a hand-over still reaches the key from the one it trusts.
   */
  keyRotation?: KeyRotation;
}

export interface KeyRotation {
  signature: string;
  chain?: Array<{ publicKey: string; signature: string }>;
}

/** Far more hand-overs than a project makes in its life: a longer chain is no release's. */
const MAX_ROTATIONS = 32;

const FORMATS = new Set<AppFormat>(['zip', 'tar.gz', 'AppImage', 'exe']);

export function invalidAppManifest(why: string, source = 'the manifest'): UserError {
  return new UserError({
    what: `the desktop app manifest in ${source} is invalid`,
    why,
    fix: 'reinstall @aoagents/ao (npm install -g @aoagents/ao) or pass --manifest <file> with a valid manifest',
    code: 'EAPPMANIFEST',
  });
}

/** Longer than any release version; the version names a folder, so it stays well under a file name's limit. */
const MAX_VERSION_LENGTH = 64;
/** A matrix id (`os-cpu`): it names the version folder too. */
const TARGET_ID = /^[a-z0-9]+-[a-z0-9]+$/;

/**
 * A folder name ao-app makes in `versions/`: `<version>-<os>-<cpu>` (a plain semver, a matrix id) or a
 * `.staging-` folder. Anything else there is someone else's (an AO_APP_DIR or --dir that already held a `versions`
 * folder) and is never swept or removed.
 */
export function isVersionFolderName(name: string): boolean {
  if (name.startsWith('.staging-')) return true;
  const m = /^(.+)-([a-z0-9]+-[a-z0-9]+)$/.exec(name);
  return m !== null && semver.valid(m[1]) === m[1] && TARGET_ID.test(m[2]!);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A file name that stays one entry inside its folder: no separators, no NUL, not `.` or `..`. */
const plainFileName = (name: unknown) => typeof name === 'string' && name.length <= 200 && /^[^\\/\0]+$/.test(name) && name !== '.' && name !== '..';

/** A string that parses as an absolute http or https URL. */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'http:' || protocol === 'https:';
}

function isEd25519PublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

export function validateAppManifest(data: unknown, source = 'the manifest'): AppManifest {
  if (!isObject(data))
    throw invalidAppManifest(`it is ${data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`}, not an object`, source);
  const m = data as Partial<AppManifest>;
  if (m.schema !== 1) throw invalidAppManifest(`schema is ${JSON.stringify(m.schema)}, expected 1`, source);
  // The version names the install folder (versions/<version>-<target>): only a plain semver, as npm writes it.
  if (typeof m.version !== 'string' || m.version.length > MAX_VERSION_LENGTH || semver.valid(m.version) !== m.version)
    throw invalidAppManifest(
      `"version" is ${JSON.stringify(m.version)?.slice(0, 80)}, not a semver version (like 0.10.0) of at most ${MAX_VERSION_LENGTH} characters`,
      source,
    );
  if (!isObject(m.targets)) throw invalidAppManifest('"targets" is missing or not an object', source);
  if (m.publicKey !== undefined && (typeof m.publicKey !== 'string' || !m.publicKey.includes('BEGIN PUBLIC KEY')))
    throw invalidAppManifest('"publicKey" must be a PEM public key when present', source);
  // Ed25519 only, as the store of remembered keys holds: another kind trusted on first use made every later run
  // refuse that store as damaged, and a PEM that does not parse crashed the signature check (exit 70).
  if (m.publicKey !== undefined && !isEd25519PublicKey(m.publicKey)) throw invalidAppManifest('"publicKey" is not an Ed25519 public key', source);
  if (m.keyRotation !== undefined && typeof m.keyRotation?.signature !== 'string') throw invalidAppManifest('"keyRotation.signature" must be a string', source);
  const chain = m.keyRotation?.chain;
  if (chain !== undefined) {
    if (!Array.isArray(chain) || chain.length > MAX_ROTATIONS)
      throw invalidAppManifest(`"keyRotation.chain" must be a list of at most ${MAX_ROTATIONS} hand-overs`, source);
    chain.forEach((link, i) => {
      if (!isObject(link) || typeof link.signature !== 'string' || typeof link.publicKey !== 'string' || !isEd25519PublicKey(link.publicKey))
        throw invalidAppManifest(`"keyRotation.chain[${i}]" must hold an Ed25519 "publicKey" (PEM) and a "signature"`, source);
    });
  }
  for (const [id, t] of Object.entries(m.targets)) {
    const where = `targets.${id}`;
    if (!TARGET_ID.test(id)) throw invalidAppManifest(`${JSON.stringify(id)} is not a target id like linux-x64`, source);
    if (!isObject(t)) throw invalidAppManifest(`${where} is not an object`, source);
    if (!plainFileName(t.file)) throw invalidAppManifest(`${where}.file must be a plain file name`, source);
    // An AppImage or exe is kept under its own name in the version folder, where the marker is written last (over it).
    if (namesCompletionMarker(t.file))
      throw invalidAppManifest(`${where}.file is named like the completion marker ao-app writes into the installed app`, source);
    if (!FORMATS.has(t.format)) throw invalidAppManifest(`${where}.format must be zip, tar.gz, AppImage or exe`, source);
    if (!Array.isArray(t.urls) || t.urls.length === 0 || t.urls.some((u) => typeof u !== 'string' || !isHttpUrl(u)))
      throw invalidAppManifest(`${where}.urls must list http(s) URLs that parse`, source);
    if (!Number.isSafeInteger(t.size) || t.size <= 0) throw invalidAppManifest(`${where}.size must be a positive integer`, source);
    if (typeof t.integrity !== 'string' || !/^sha512-[A-Za-z0-9+/]{86}==$/.test(t.integrity))
      throw invalidAppManifest(`${where}.integrity must be a sha512 SRI string`, source);
    if (!Number.isSafeInteger(t.unpackedSizeLimit) || t.unpackedSizeLimit <= 0)
      throw invalidAppManifest(`${where}.unpackedSizeLimit must be a positive integer`, source);
    if (m.publicKey !== undefined && typeof t.signature !== 'string')
      throw invalidAppManifest(`${where}.signature is missing but the manifest carries a public key`, source);
  }
  return m as AppManifest;
}

/** The matrix id (`os-cpu`) of the machine this runs on. */
export function hostTargetId(): string {
  return `${process.platform}-${process.arch}`;
}
