import { UserError } from './errors.js';

/**
 * The desktop app manifest: written by release/app-manifest.ts, carried inside
 * `ao-manifest.json` (field `app`) so its hashes arrive through npm's own
 * integrity chain. Node built-ins only: this ships inside @aoagents/ao.
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
  /** A new signing key handed over by an old one: the old key's signature over the new key's SPKI bytes. */
  keyRotation?: { signature: string };
}

const FORMATS = new Set<AppFormat>(['zip', 'tar.gz', 'AppImage', 'exe']);

function bad(why: string, source: string): UserError {
  return new UserError({
    what: `the desktop app manifest in ${source} is invalid`,
    why,
    fix: 'reinstall @aoagents/ao (npm install -g @aoagents/ao) or pass --manifest <file> with a valid manifest',
    code: 'EAPPMANIFEST',
  });
}

export function validateAppManifest(data: unknown, source = 'the manifest'): AppManifest {
  const m = data as Partial<AppManifest> | undefined;
  if (!m || typeof m !== 'object') throw bad('it is not an object', source);
  if (m.schema !== 1) throw bad(`schema is ${JSON.stringify(m.schema)}, expected 1`, source);
  if (typeof m.version !== 'string' || !m.version) throw bad('"version" is missing', source);
  if (!m.targets || typeof m.targets !== 'object') throw bad('"targets" is missing', source);
  if (m.publicKey !== undefined && (typeof m.publicKey !== 'string' || !m.publicKey.includes('BEGIN PUBLIC KEY')))
    throw bad('"publicKey" must be a PEM public key when present', source);
  if (m.keyRotation !== undefined && typeof m.keyRotation?.signature !== 'string') throw bad('"keyRotation.signature" must be a string', source);
  for (const [id, t] of Object.entries(m.targets)) {
    const where = `targets.${id}`;
    if (!t || typeof t !== 'object') throw bad(`${where} is not an object`, source);
    if (typeof t.file !== 'string' || !t.file || /[\\/]/.test(t.file)) throw bad(`${where}.file must be a plain file name`, source);
    if (!FORMATS.has(t.format)) throw bad(`${where}.format must be zip, tar.gz, AppImage or exe`, source);
    if (!Array.isArray(t.urls) || t.urls.length === 0 || t.urls.some((u) => typeof u !== 'string' || !/^https?:\/\//.test(u)))
      throw bad(`${where}.urls must list http(s) URLs`, source);
    if (!Number.isSafeInteger(t.size) || t.size <= 0) throw bad(`${where}.size must be a positive integer`, source);
    if (typeof t.integrity !== 'string' || !/^sha512-[A-Za-z0-9+/]{86}==$/.test(t.integrity))
      throw bad(`${where}.integrity must be a sha512 SRI string`, source);
    if (!Number.isSafeInteger(t.unpackedSizeLimit) || t.unpackedSizeLimit <= 0) throw bad(`${where}.unpackedSizeLimit must be a positive integer`, source);
    if (m.publicKey !== undefined && typeof t.signature !== 'string') throw bad(`${where}.signature is missing but the manifest carries a public key`, source);
  }
  return m as AppManifest;
}

/** The matrix id (`os-cpu`) of the machine this runs on. */
export function hostTargetId(): string {
  return `${process.platform}-${process.arch}`;
}
