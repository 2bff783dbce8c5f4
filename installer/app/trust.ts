import { createPublicKey } from 'node:crypto';
import { readFile, readlink, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import { writeJsonAtomic } from '../../common/fs-atomic.js';
import { CANNOT_WRITE } from '../../common/lock.js';
import type { AppManifest, AppTarget, KeyRotation } from '../../common/app-manifest.js';
import { entryPayload, keyId, rotationPayload, verifies } from '../../common/app-signing.js';
import buildKeys from './trusted-keys.json' with { type: 'json' };

/**
 * Who may sign a desktop app manifest. The keys come from outside the manifest:
 * those compiled into this build (trusted-keys.json, from the release config)
 * and those this machine remembered (`<root>/trusted-keys.json`): the first
 * signed install's key when the build pins none (trust on first use), and any
 * key a trusted key signed over (rotation, as Sparkle and TUF do). A manifest
 * signed by any other key is refused, before anything is downloaded.
 *
 * What is signed: the target's entry (version, target id, file, format, size,
 * sha512, unpacked cap) as canonical JSON, not the URLs (mirrors and
 * AO_APP_BASE_URL change them; the sha512 pins the bytes).
 */
export interface TrustedKey {
  id: string;
  publicKey: string;
  /** How this machine came to trust it. */
  via: string;
  /** The id of the key whose hand-over made this machine trust it; none for a key trusted on first use. */
  by?: string;
}

export const TRUST_FILE = 'trusted-keys.json';

export function pinnedKeys(): TrustedKey[] {
  return (buildKeys as { keys: string[] }).keys.map((publicKey) => ({ id: keyId(publicKey), publicKey, via: 'the ao-app build' }));
}

function damagedStore(path: string, why: string, cause?: unknown): UserError {
  return new UserError({
    what: 'the signing keys this machine trusts for the desktop app cannot be read',
    why: `${path}: ${why}; without it any signing key would be trusted again, so nothing was downloaded or installed`,
    fix: `restore ${path} from a backup; or, only if you trust the manifest you install next, delete ${path} (its signing key is then trusted as on a first install); or reinstall @aoagents/ao and run ao-app install again`,
    code: 'ETRUSTSTORE',
    cause,
  });
}

/** A stored key the crypto library accepts as an Ed25519 public key, with its id computed, not taken from the file. */
function storedKey(entry: unknown): TrustedKey | undefined {
  const { publicKey, via, by } = (entry ?? {}) as Partial<TrustedKey>;
  if (typeof publicKey !== 'string') return undefined;
  try {
    if (createPublicKey(publicKey).asymmetricKeyType !== 'ed25519') return undefined;
    return { id: keyId(publicKey), publicKey, via: typeof via === 'string' ? via : 'remembered', ...(typeof by === 'string' ? { by } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * What this machine remembered: the keys it trusts, and the keys a rotation retired (refused from then on,
 * with a message that says so). The pinned keys are not in it: the build carries them.
 */
export interface TrustStore {
  keys: TrustedKey[];
  retired: TrustedKey[];
}

/** What an accepted manifest changes in the store: a key to trust from now on, and the keys it replaces (a chain's too). */
export interface TrustChange {
  add?: TrustedKey;
  retire?: TrustedKey[];
  /** Only remembers a pinned key the build trusts anyway: written by a later run when this one cannot (a full disk). */
  deferrable?: boolean;
}

function storedKeys(path: string, data: unknown, field: 'keys' | 'retired'): TrustedKey[] {
  const entries = (data as Record<string, unknown> | null)?.[field];
  if (field === 'retired' && entries === undefined) return [];
  if (!Array.isArray(entries)) throw damagedStore(path, `it has no "${field}" list`);
  const keys = entries.map(storedKey);
  const bad = keys.findIndex((k) => !k);
  if (bad >= 0) throw damagedStore(path, `${field}[${bad}] is not an Ed25519 public key (SPKI PEM)`);
  return keys as TrustedKey[];
}

/**
 * A store another user can write (`--dir /tmp/ao-app` on a shared machine, made there by someone else first) may hold
 * their key: trusted, it made the release's signature mean nothing. Writable by all, or another user's, it is refused.
 */
async function refuseOthersWritable(path: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const info = await stat(path);
  const why = info.mode & 0o002 ? 'other users can write it' : info.uid !== uid && info.uid !== 0 ? `it belongs to another user (uid ${info.uid})` : undefined;
  if (!why) return;
  throw new UserError({
    what: 'the signing keys this machine trusts for the desktop app cannot be relied on',
    why: `${path}: ${why}, so it may hold a key someone else put there; nothing was downloaded or installed`,
    fix: `install into a folder of your own (AO_APP_DIR or --dir; the default is ~/.ao/app); or, if ${path} is yours, make it yours alone (chown $(id -u) and chmod 644 it), then run ao-app install again`,
    code: 'ETRUSTSTORE',
  });
}

/**
 * The store this machine remembered. Only a missing file means none: a store that cannot be read or
 * parsed is refused (ETRUSTSTORE), never taken as empty, which would trust the next key on first use again.
 * Read under `<root>/.lock`: two first installs at once must not both trust their own key.
 */
export async function rememberedTrust(root: string): Promise<TrustStore> {
  const path = join(root, TRUST_FILE);
  // A FIFO or a device (through a link too) is never read: a FIFO waited for a writer for ever, holding the lock.
  const kind = await stat(path).catch(() => undefined);
  if (kind && !kind.isFile()) throw damagedStore(path, 'it is not a regular file');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // A link whose target is not there (a dotfiles folder, a disk not mounted) is a store that cannot be read, not none.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const link = await readlink(path).catch(() => undefined);
      if (link === undefined) return { keys: [], retired: [] };
      throw damagedStore(path, `it is a link to ${resolve(root, link)}, which does not exist`, err);
    }
    throw damagedStore(path, `it cannot be read (${(err as Error).message})`, err);
  }
  await refuseOthersWritable(path);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw damagedStore(path, `it is not JSON (${(err as Error).message})`, err);
  }
  return { keys: storedKeys(path, data, 'keys'), retired: storedKeys(path, data, 'retired') };
}

/**
 * Where the store's content lives: through a link (a dotfiles folder), the file it points to. Renamed over, the link had
 * become a file of its own, and the old store it pointed to, a rotated-out key still trusted there, came back at the next
 * re-link. Killed writes leave their temp file beside it.
 */
export async function trustStoreFile(root: string): Promise<string> {
  const path = join(root, TRUST_FILE);
  return realpath(path).catch(() => path);
}

/** Writes an accepted manifest's change: the rotated-out key leaves `keys` for `retired`, the new one joins `keys`. */
export async function applyTrustChange(root: string, change: TrustChange): Promise<void> {
  const { add, retire = [] } = change;
  if (!add) return;
  const store = await rememberedTrust(root);
  const gone = new Set([add.id, ...retire.map((k) => k.id)]);
  const keys = store.keys.filter((k) => !gone.has(k.id));
  const retired = store.retired.filter((k) => !gone.has(k.id));
  keys.push(add);
  retired.push(...retire);
  const content = { schemaVersion: 1, keys, retired };
  const own = join(root, TRUST_FILE);
  const linked = await trustStoreFile(root);
  try {
    await writeJsonAtomic(linked, content);
  } catch (err) {
    // A link to a store this user may not write (an admin's, a read-only disk): the app folder's own copy takes over.
    if (linked === own || !CANNOT_WRITE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await writeJsonAtomic(own, content);
  }
}

function refused(why: string): UserError {
  return new UserError({
    what: 'the desktop app manifest is not signed by a key this machine trusts',
    why: `${why}; nothing was downloaded or installed`,
    fix: 'reinstall @aoagents/ao from the official registry (npm install -g @aoagents/ao); if it persists, report it: the release may have been tampered with',
    code: 'ESIGNATURE',
  });
}

const listKeys = (keys: TrustedKey[]) => keys.map((k) => `${k.id} (${k.via})`).join(', ');

/**
 * Checks the target entry's signature against the pinned and remembered keys, before any download.
 * Returns what to change in the store once the install succeeds. A rotation signed by a remembered key
 * retires that key (TUF and Sparkle stop trusting a rotated-out key); one signed by a pinned key leaves it
 * pinned, since the release config, not a manifest, decides what the build trusts.
 */
export function checkEntryTrust(manifest: AppManifest, targetId: string, target: AppTarget, pinned: TrustedKey[], store: TrustStore): TrustChange {
  const remembered = pinned.length === 0 ? store.keys : store.keys.filter((k) => handedOverFromPinned(k, pinned, store));
  const trusted = [...pinned, ...remembered];
  const signer = manifest.publicKey;
  if (!signer && !target.signature) {
    if (trusted.length > 0) throw refused(`it is unsigned, and this machine trusts ${trusted.map((k) => `key ${k.id} (${k.via})`).join(', ')}`);
    return {};
  }
  if (!signer || !target.signature) throw refused('it carries a signature without a key, or a key without a signature');
  const id = keyId(signer);
  if (!verifies(signer, entryPayload(manifest.version, targetId, target), target.signature))
    throw refused(`the signature of ${targetId} does not match its entry under key ${id}`);
  if (trusted.length === 0 && store.retired.length === 0) return { add: { id, publicKey: signer, via: `first install (${manifest.version})` } };
  if (trusted.some((k) => k.id === id)) {
    // A pinned key is remembered too: going back to a build that pins none (every release before the pin) had found
    // nothing remembered and trusted any manifest's key on first use again. A rotated-out one stays retired.
    const known = [...store.keys, ...store.retired].some((k) => k.id === id);
    return known ? {} : { add: { id, publicKey: signer, via: `pinned in the ao-app build that installed ${manifest.version}` }, deferrable: true };
  }
  // Before any rotation: a rotation signature never expires, so the one that once handed trust to this key (a pinned
  // key's, still trusted) would otherwise bring a key back that was rotated out, maybe because it leaked.
  const retired = store.retired.find((k) => k.id === id);
  // Also what a user going back to a release from before the hand-over (npm install -g @aoagents/ao@<older>) meets: said so.
  if (retired)
    throw refused(
      `it is signed by key ${id}; key ${id} was rotated out (${retired.via}), and this machine now trusts ${listKeys(trusted)}: a release older than that hand-over is signed by the old key and cannot be installed here any more`,
    );
  const rotation = manifest.keyRotation;
  const path = rotation ? handOverPath(signer, rotation, trusted, store.retired) : undefined;
  if (path) {
    const by = path.at(-2)!;
    const add = { id, publicKey: signer, via: `rotation signed by ${by.id} (${manifest.version})`, by: by.id };
    // Every key handed over from on the way is rotated out; a pinned one stays, since the build decides what it pins.
    const retire = path
      .slice(0, -1)
      .filter((k) => !pinned.some((p) => p.id === k.id))
      .map((k) => ({ ...k, via: `handed over to key ${id} in ${manifest.version}` }));
    return { add, retire };
  }
  const unpinned = store.keys.find((k) => k.id === id);
  const why = unpinned
    ? `key ${id} was remembered here (${unpinned.via}) before this ao-app build pinned its own keys, and no pinned key handed over to it; `
    : '';
  throw refused(`it is signed by key ${id}; ${why}this machine trusts ${listKeys(trusted)}${rotation ? ', and no trusted key signed the rotation' : ''}`);
}

/**
 * Once the build pins keys, they decide: a remembered key counts only when a pinned key handed over to it, directly or
 * through keys since rotated out. A key trusted on first use under a build that pinned none (a tampered package's, an old
 * release key) had stayed trusted beside the pin for good.
 */
function handedOverFromPinned(key: TrustedKey, pinned: TrustedKey[], store: TrustStore): boolean {
  const known = new Map([...store.retired, ...store.keys].map((k) => [k.id, k]));
  const seen = new Set<string>();
  for (let k: TrustedKey | undefined = key; k?.by !== undefined && !seen.has(k.id); k = known.get(k.by)) {
    if (pinned.some((p) => p.id === k!.by)) return true;
    seen.add(k.id);
  }
  return false;
}

/**
 * The keys from a trusted one to `signer` through the manifest's hand-overs (the chain's, then its own), trusted key
 * first and `signer` last; undefined when none reaches it. A rotated-out key is never a step: its old hand-overs stay
 * public and never expire.
 */
function handOverPath(signer: string, rotation: KeyRotation, trusted: TrustedKey[], retired: TrustedKey[]): TrustedKey[] | undefined {
  const reached = new Map<string, TrustedKey[]>(trusted.map((k) => [k.id, [k]]));
  for (const link of [...(rotation.chain ?? []), { publicKey: signer, signature: rotation.signature }]) {
    const id = keyId(link.publicKey);
    if (reached.has(id) || retired.some((k) => k.id === id)) continue;
    const from = [...reached.values()].find((p) => verifies(p.at(-1)!.publicKey, rotationPayload(link.publicKey), link.signature));
    if (from) reached.set(id, [...from, { id, publicKey: link.publicKey, via: 'a hand-over', by: from.at(-1)!.id }]);
  }
  return reached.get(keyId(signer));
}
