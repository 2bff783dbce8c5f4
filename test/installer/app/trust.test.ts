import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, chown, mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildAppManifest } from '../../../release/app-manifest.js';
import { loadMatrix } from '../../../common/matrix.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { installApp } from '../../../installer/app/install.js';
import type { AppManifest } from '../../../common/app-manifest.js';
import { entryPayload, keyId, rotationPayload, signWith } from '../../../common/app-signing.js';
import { TRUST_FILE } from '../../../installer/app/trust.js';
import { buildAppArtifact } from '../../../rehearsal/app-fixtures.js';
import { startFaultServer, type FaultServer } from '../../../rehearsal/fault-server.js';
import { bundledCli, canMountTmpfs, type ManifestWith, manifestFor, tempDir, writeManifest } from './helpers.js';

/**
 * The signature means something: keys come from the build and from what this
 * machine remembered, never from the manifest alone; the entry is checked
 * before a byte is downloaded; a new key is accepted only when a trusted one
 * signed the hand-over.
 */
let server: FaultServer;
let artifact: string;
const A = generateKeyPairSync('ed25519').privateKey;
const B = generateKeyPairSync('ed25519').privateKey;
const pem = (k: KeyObject) => createPublicKey(k).export({ type: 'spki', format: 'pem' }).toString();

beforeAll(async () => {
  server = await startFaultServer();
  artifact = (await buildAppArtifact('darwin', join(await tempDir('trust'), 'agent-orchestrator-darwin-arm64.zip'), 64 << 10)).file;
}, 60_000);
afterAll(() => server.close());

async function manifest(version: string, by?: KeyObject, rotatedFrom?: KeyObject): Promise<ManifestWith<'darwin-arm64'>> {
  const m = await manifestFor(server, artifact, 'zip', 'darwin-arm64');
  m.version = version;
  if (!by) return m;
  const t = m.targets['darwin-arm64'];
  t.signature = signWith(by, entryPayload(version, 'darwin-arm64', t));
  m.publicKey = pem(by);
  if (rotatedFrom) m.keyRotation = { signature: signWith(rotatedFrom, rotationPayload(m.publicKey)) };
  return m;
}

/** Called when an install asks for `<root>/.lock`: the real lock, told to a test that orders two installs by it. */
const lockAsked = vi.hoisted(() => ({ waiters: [] as Array<() => void> }));
vi.mock('../../../common/lock.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../common/lock.js')>();
  return {
    ...real,
    acquireLock: (...args: Parameters<typeof real.acquireLock>) => {
      for (const tell of lockAsked.waiters.splice(0)) tell();
      return real.acquireLock(...args);
    },
  };
});

const C = generateKeyPairSync('ed25519').privateKey;
const rememberedIds = async (root: string) =>
  (JSON.parse(await readFile(join(root, TRUST_FILE), 'utf8')) as { keys: Array<{ id: string }> }).keys.map((k) => k.id);

const fetches = () => server.requests.filter((r) => r.path === '/agent-orchestrator-darwin-arm64.zip').length;

describe('who may sign the desktop app', () => {
  it('refuses a manifest with an empty public key instead of accepting any signature', async () => {
    const m = await manifest('0.10.0', A);
    await expect(installApp({ manifest: { ...m, publicKey: '' }, target: 'darwin-arm64', root: await tempDir('root'), trustedKeys: [] })).rejects.toMatchObject(
      { code: 'EAPPMANIFEST' },
    );
  });

  it('refuses, before downloading, a manifest signed by a key the build does not pin (its own key inside it proves nothing)', async () => {
    const before = fetches();
    const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'the ao-app build' }];
    await expect(
      installApp({ manifest: await manifest('0.10.0', B), target: 'darwin-arm64', root: await tempDir('root'), trustedKeys: pinned }),
    ).rejects.toMatchObject({ code: 'ESIGNATURE' });
    await expect(
      installApp({ manifest: await manifest('0.10.0'), target: 'darwin-arm64', root: await tempDir('root'), trustedKeys: pinned }),
    ).rejects.toMatchObject({ code: 'ESIGNATURE' });
    expect(fetches()).toBe(before);
    expect((await installApp({ manifest: await manifest('0.10.0', A), target: 'darwin-arm64', root: await tempDir('root'), trustedKeys: pinned })).status).toBe(
      'installed',
    );
  });

  it('refuses, before downloading, a manifest whose key is not Ed25519 (ECDSA, RSA) or not a key at all, instead of trusting it or crashing', async () => {
    const before = fetches();
    for (const type of ['ec', 'rsa'] as const) {
      const other =
        type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const root = await tempDir('root');
      // A valid signature by that key: Node's verify accepts it, but the store keeps Ed25519 keys only, so trusting it
      // on first use made every later run refuse the store as damaged (ETRUSTSTORE).
      await expect(installApp({ manifest: await manifest('0.10.0', other), target: 'darwin-arm64', root, trustedKeys: [] }), type).rejects.toMatchObject({
        code: 'EAPPMANIFEST',
        why: expect.stringMatching(/not an Ed25519 public key/),
      });
    }
    const garbled = { ...(await manifest('0.10.0', A)), publicKey: '-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZQ==\n-----END PUBLIC KEY-----\n' };
    await expect(installApp({ manifest: garbled, target: 'darwin-arm64', root: await tempDir('root'), trustedKeys: [] })).rejects.toMatchObject({
      code: 'EAPPMANIFEST',
    });
    expect(fetches()).toBe(before);
  });

  it('refuses an entry changed after signing, before downloading', async () => {
    const m = await manifest('0.10.0', A);
    m.targets['darwin-arm64'].unpackedSizeLimit *= 100;
    const before = fetches();
    await expect(installApp({ manifest: m, target: 'darwin-arm64', root: await tempDir('root'), trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
    });
    expect(fetches()).toBe(before);
  });

  it('remembers the first key, refuses another, and follows a rotation the old key signed', async () => {
    const root = await tempDir('root');
    expect((await installApp({ manifest: await manifest('0.10.0', A), target: 'darwin-arm64', root, trustedKeys: [] })).status).toBe('installed');
    const remembered = JSON.parse(await readFile(join(root, TRUST_FILE), 'utf8'));
    expect(remembered.keys.map((k: { id: string }) => k.id)).toEqual([keyId(pem(A))]);
    await expect(installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringContaining(keyId(pem(B))),
    });
    await expect(installApp({ manifest: await manifest('0.11.0', B, B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
    });
    expect((await installApp({ manifest: await manifest('0.11.0', B, A), target: 'darwin-arm64', root, trustedKeys: [] })).status).toBe('installed');
    expect((await installApp({ manifest: await manifest('0.12.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).status).toBe('installed');
  });

  it('retires the key a rotation replaces: a release signed by the old key is refused as rotated out, and the store trusts only the new key', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    expect((await installApp({ manifest: await manifest('0.10.0', A), target, root, trustedKeys: [] })).status).toBe('installed');
    expect((await installApp({ manifest: await manifest('0.11.0', B, A), target, root, trustedKeys: [] })).status).toBe('installed');
    expect(await rememberedIds(root)).toEqual([keyId(pem(B))]);
    const before = fetches();
    await expect(installApp({ manifest: await manifest('0.12.0', A), target, root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringContaining(`key ${keyId(pem(A))} was rotated out`),
    });
    // The old rotation replayed with the retired key's signature does not bring it back either.
    await expect(installApp({ manifest: await manifest('0.12.0', A, A), target, root, trustedKeys: [] })).rejects.toMatchObject({ code: 'ESIGNATURE' });
    expect(fetches()).toBe(before);
    expect((await installApp({ manifest: await manifest('0.13.0', C, B), target, root, trustedKeys: [] })).status).toBe('installed');
    expect(await rememberedIds(root)).toEqual([keyId(pem(C))]);
    // The B->C hand-over replayed by B's holder (an attacker with the old key) is refused: B was rotated out.
    await expect(installApp({ manifest: await manifest('0.14.0', B, A), target, root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringContaining(`key ${keyId(pem(B))} was rotated out`),
    });
  });

  it('goes back to an older release its trusted key signed (npm install -g @aoagents/ao@<older>), but not across a rotation, saying why', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    expect((await installApp({ manifest: await manifest('0.11.0', A), target, root, trustedKeys: [] })).status).toBe('installed');
    // No version floor: the manifest comes inside the package npm installed, so going back is the user's choice.
    expect((await installApp({ manifest: await manifest('0.10.0', A), target, root, trustedKeys: [] })).path).toBe(
      join(root, 'versions', '0.10.0-darwin-arm64'),
    );
    expect((await installApp({ manifest: await manifest('0.12.0', B, A), target, root, trustedKeys: [] })).status).toBe('installed');
    // A release from before the hand-over is refused like one the old key's holder made since; the user going back is told so.
    await expect(installApp({ manifest: await manifest('0.11.0', A), target, root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringContaining('a release older than that hand-over'),
    });
  });

  it('keeps a key pinned in the build trusted after a rotation it signed (the release config, not a manifest, retires it)', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'the ao-app build' }];
    expect((await installApp({ manifest: await manifest('0.11.0', B, A), target, root, trustedKeys: pinned })).status).toBe('installed');
    expect(await rememberedIds(root)).toEqual([keyId(pem(B))]);
    expect((await installApp({ manifest: await manifest('0.12.0', A), target, root, trustedKeys: pinned })).status).toBe('installed');
    expect((await installApp({ manifest: await manifest('0.13.0', B), target, root, trustedKeys: pinned })).status).toBe('installed');
  });

  // A machine that installed with a build pinning nothing trusted that manifest's key on first use (a tampered package's
  // key, or an old release key). A build that pins its keys decides from then on: the key trusted on first use had
  // stayed trusted beside the pin for good, so whoever held it could still sign releases this machine installs.
  it('stops trusting a key remembered on first use once the build pins its keys, unless a pinned key handed over to it', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    expect((await installApp({ manifest: await manifest('0.10.0', B), target, root, trustedKeys: [] })).status).toBe('installed');
    const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'the ao-app build' }];
    const before = fetches();
    await expect(installApp({ manifest: await manifest('0.11.0', B), target, root, trustedKeys: pinned })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringContaining(`key ${keyId(pem(B))} was remembered here (first install (0.10.0)) before this ao-app build pinned its own keys`),
    });
    // Nor through a hand-over the first-use key signed.
    await expect(installApp({ manifest: await manifest('0.11.0', C, B), target, root, trustedKeys: pinned })).rejects.toMatchObject({ code: 'ESIGNATURE' });
    expect(fetches()).toBe(before);
    expect((await installApp({ manifest: await manifest('0.11.0', A), target, root, trustedKeys: pinned })).status).toBe('installed');
    // The pinned key's hand-over to that key, carried in a chain on to C, makes C trusted from then on.
    const chained = await manifest('0.12.0', C, B);
    chained.keyRotation!.chain = [{ publicKey: pem(B), signature: signWith(A, rotationPayload(pem(B))) }];
    expect((await installApp({ manifest: chained, target, root, trustedKeys: pinned })).status).toBe('installed');
    expect((await installApp({ manifest: await manifest('0.13.0', C), target, root, trustedKeys: pinned })).status).toBe('installed');
    expect(await rememberedIds(root)).toEqual([keyId(pem(A)), keyId(pem(C))]);
  });

  // Every release so far pins nothing: a user going back to one (npm install -g @aoagents/ao@<older>) after a build that
  // pinned its key had found nothing remembered, and the older build trusted any manifest's key on first use again.
  it('remembers the pinned key that signed an install, so a build pinning none does not trust another key on first use', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'the ao-app build' }];
    expect((await installApp({ manifest: await manifest('0.12.0', A), target, root, trustedKeys: pinned })).status).toBe('installed');
    const before = fetches();
    await expect(installApp({ manifest: await manifest('0.11.0', B), target, root, trustedKeys: [] })).rejects.toMatchObject({ code: 'ESIGNATURE' });
    expect(fetches()).toBe(before);
    expect((await installApp({ manifest: await manifest('0.11.0', A), target, root, trustedKeys: [] })).status).toBe('installed');
  });

  it('never trusts a rotated-out key again, even when the pinned key’s earlier rotation to it is replayed', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'the ao-app build' }];
    expect((await installApp({ manifest: await manifest('0.11.0', B, A), target, root, trustedKeys: pinned })).status).toBe('installed');
    // B hands over to C (B leaked, say): B is rotated out.
    expect((await installApp({ manifest: await manifest('0.12.0', C, B), target, root, trustedKeys: pinned })).status).toBe('installed');
    const before = fetches();
    // Whoever holds B signs a release and attaches A's rotation to B from 0.11.0, public in that manifest.
    await expect(installApp({ manifest: await manifest('0.13.0', B, A), target, root, trustedKeys: pinned })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringMatching(new RegExp(`key ${keyId(pem(B))} was rotated out`)),
    });
    expect(fetches()).toBe(before);
    expect(await rememberedIds(root)).toEqual([keyId(pem(C))]);
  });

  // A machine that skipped the release rotating A to B (0.11.0) meets 0.12.0, signed by C with B's hand-over: it trusts A
  // only, and had been refused for good, told the release "may have been tampered with". The release carries the
  // earlier hand-overs (buildAppManifest's `rotationHistory`), as TUF clients walk every root version in between.
  it('follows a chain of rotations for a machine that skipped a release (A to B to C), retiring A and B; a chain from a retired key is refused', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    expect((await installApp({ manifest: await manifest('0.10.0', A), target, root, trustedKeys: [] })).status).toBe('installed');
    const handOverToB = await manifest('0.11.0', B, A);
    const toC = await buildAppManifest({
      matrix: loadMatrix(),
      allowMissing: true,
      version: '0.12.0',
      artifactsDir: dirname(artifact),
      baseUrls: [server.url],
      signingKey: C,
      previousSigningKey: B,
      rotationHistory: handOverToB,
    });
    expect((await installApp({ manifest: toC, target, root, trustedKeys: [] })).status).toBe('installed');
    expect(await rememberedIds(root)).toEqual([keyId(pem(C))]);
    // The next release, signed by C without a new hand-over, still carries the chain for machines further behind.
    const after = await buildAppManifest({
      matrix: loadMatrix(),
      allowMissing: true,
      version: '0.13.0',
      artifactsDir: dirname(artifact),
      baseUrls: [server.url],
      signingKey: C,
      rotationHistory: toC,
    });
    expect(after.keyRotation).toEqual(toC.keyRotation);
    // A history another key signed cannot line up with this release's hand-over: refused at release, not dropped.
    const release = { matrix: loadMatrix(), allowMissing: true, version: '0.13.0', artifactsDir: dirname(artifact), baseUrls: [server.url] };
    for (const wrong of [
      { signingKey: C, previousSigningKey: B, rotationHistory: await manifest('0.9.0', A) },
      { signingKey: C, rotationHistory: handOverToB },
    ])
      await expect(buildAppManifest({ ...release, ...wrong })).rejects.toMatchObject({ code: 'EAPPMANIFEST' });
    // Whoever holds the retired B cannot use the chain either: B's releases are refused as rotated out.
    await expect(installApp({ manifest: await manifest('0.14.0', B, A), target, root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ESIGNATURE',
      why: expect.stringContaining(`key ${keyId(pem(B))} was rotated out`),
    });
  });

  it('a rotated-out key is never a step of a chain, even where a pinned key once handed over to it', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    // A is pinned in the build (so it stays trusted), handed over to B, and B to C: B is rotated out.
    const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'pinned in this build' }];
    for (const m of [await manifest('0.10.0', A), await manifest('0.11.0', B, A), await manifest('0.12.0', C, B)])
      expect((await installApp({ manifest: m, target, root, trustedKeys: pinned })).status).toBe('installed');
    // Whoever holds B replays A's public hand-over to B as a chain link, then hands over to a key of their own.
    const D = generateKeyPairSync('ed25519').privateKey;
    const forged = await manifest('0.13.0', D);
    forged.keyRotation = {
      chain: [{ publicKey: pem(B), signature: signWith(A, rotationPayload(pem(B))) }],
      signature: signWith(B, rotationPayload(pem(D))),
    };
    await expect(installApp({ manifest: forged, target, root, trustedKeys: pinned })).rejects.toMatchObject({ code: 'ESIGNATURE' });
  });

  it('two first installs at once remember one key: the second reads what the first remembered and is refused', async () => {
    // The unit run shares one module graph per worker (isolate: false): install.js may already be loaded there with
    // the real lock module, so this test loads it afresh, with the lock module above.
    vi.resetModules();
    const { installApp } = await import('../../../installer/app/install.js');
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    let unpark!: () => void;
    const parked = new Promise<void>((resolve) => (unpark = resolve));
    let reached!: () => void;
    const firstHoldsLock = new Promise<void>((resolve) => (reached = resolve));
    const first = installApp({
      manifest: await manifest('0.10.0', A),
      target,
      root,
      trustedKeys: [],
      checkpoint: async (step) => {
        if (step !== 'downloaded') return;
        reached();
        await parked;
      },
    });
    await firstHoldsLock;
    const other = await manifest('0.11.0', B);
    const secondAsksLock = new Promise<void>((resolve) => lockAsked.waiters.push(resolve));
    const second = installApp({ manifest: other, target, root, trustedKeys: [] }).then(
      (result) => result,
      (err: unknown) => err,
    );
    await secondAsksLock;
    unpark();
    expect((await first).status).toBe('installed');
    expect(await second).toMatchObject({ code: 'ESIGNATURE', why: expect.stringContaining(keyId(pem(B))) });
    expect(await rememberedIds(root)).toEqual([keyId(pem(A))]);
    expect(await readlink(join(root, 'current'))).toBe(join('versions', '0.10.0-darwin-arm64'));
  });

  it('refuses, and keeps as it is, a remembered-key store that is damaged, instead of trusting the first key again', async () => {
    const root = await tempDir('root');
    expect((await installApp({ manifest: await manifest('0.10.0', A), target: 'darwin-arm64', root, trustedKeys: [] })).status).toBe('installed');
    const store = join(root, TRUST_FILE);
    const remembered = await readFile(store, 'utf8');
    const damaged = [
      remembered.slice(0, -5),
      'null',
      '{"keys":"nope"}',
      '{"keys":[{"pem":"garbage"}]}',
      '{"schemaVersion":1,"keys":[{"id":"x","publicKey":"not a key","via":"hand"}]}',
    ];
    for (const text of damaged) {
      await writeFile(store, text);
      const before = fetches();
      for (const m of [await manifest('0.11.0'), await manifest('0.11.0', B)]) {
        await expect(installApp({ manifest: m, target: 'darwin-arm64', root, trustedKeys: [] }), text).rejects.toMatchObject({
          code: 'ETRUSTSTORE',
          why: expect.stringContaining(store),
          fix: expect.stringContaining(store),
        });
      }
      expect(fetches(), text).toBe(before);
      expect(await readFile(store, 'utf8'), text).toBe(text);
    }
    // A store that cannot be read (here a folder in its place) is refused the same way.
    await rm(store);
    await mkdir(store);
    await expect(installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ETRUSTSTORE',
    });
    // A FIFO (or a link to a device) in its place is refused unread: it had waited for a writer for ever, holding the lock.
    await rm(store, { recursive: true });
    execFileSync('mkfifo', [store]);
    await expect(installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ETRUSTSTORE',
      why: expect.stringContaining('not a regular file'),
    });
    // A link to a store elsewhere (a dotfiles folder, another disk) whose target is not there now is no missing store: read
    // as one, it had trusted B on first use again.
    await rm(store, { recursive: true });
    const elsewhere = join(await tempDir('unmounted'), 'dotfiles', TRUST_FILE);
    await symlink(elsewhere, store);
    await expect(installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ETRUSTSTORE',
      why: expect.stringContaining(`a link to ${elsewhere}, which does not exist`),
    });
    expect(await readlink(store)).toBe(elsewhere);
    // Only a missing store means nothing is remembered.
    await rm(store, { recursive: true });
    expect((await installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).status).toBe('installed');
  });

  // A store kept elsewhere through a link (a dotfiles folder): a rotation's write had replaced the link with a file, leaving
  // the old store where the link pointed, rotated-out key still trusted there, for the next re-link to bring back.
  it('writes a rotation through a store that is a link, keeping the link', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    expect((await installApp({ manifest: await manifest('0.10.0', A), target, root, trustedKeys: [] })).status).toBe('installed');
    const store = join(root, TRUST_FILE);
    const elsewhere = join(await tempDir('dotfiles'), TRUST_FILE);
    await writeFile(elsewhere, await readFile(store));
    await rm(store);
    await symlink(elsewhere, store);
    expect((await installApp({ manifest: await manifest('0.11.0', B, A), target, root, trustedKeys: [] })).status).toBe('installed');
    expect(await readlink(store)).toBe(elsewhere);
    expect(await rememberedIds(root)).toEqual([keyId(pem(B))]);
  });

  // One this user may not write (an admin's store on a read-only disk): the machine's own copy takes over, as before.
  it.skipIf(!canMountTmpfs())('writes a rotation beside a linked store it may not write, replacing the link', async () => {
    const root = await tempDir('root');
    const target = 'darwin-arm64';
    expect((await installApp({ manifest: await manifest('0.10.0', A), target, root, trustedKeys: [] })).status).toBe('installed');
    const store = join(root, TRUST_FILE);
    const mount = await tempDir('ro-store');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    try {
      await writeFile(join(mount, TRUST_FILE), await readFile(store));
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      await rm(store);
      await symlink(join(mount, TRUST_FILE), store);
      expect((await installApp({ manifest: await manifest('0.11.0', B, A), target, root, trustedKeys: [] })).status).toBe('installed');
      expect(await rememberedIds(root)).toEqual([keyId(pem(B))]);
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  // The first run of a build that pins the key its app was installed under only remembers that key: bookkeeping a later
  // run can do. On a disk with not a byte left it had ended "already installed" in ENOSPC, exit 1, about an intact app.
  it.skipIf(!canMountTmpfs())('answers already installed on a full disk where it would only remember a pinned key', async () => {
    const root = await tempDir('full-pinned');
    // Room for the first install's space check (the manifest's unpacked limit), then filled.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=72m', 'tmpfs', root]);
    try {
      const target = 'darwin-arm64';
      const signed = await manifest('0.10.0', A);
      expect((await installApp({ manifest: signed, target, root, trustedKeys: [] })).status).toBe('installed');
      // A store without the key: the build pinning it now is the first to see this install.
      await writeFile(join(root, TRUST_FILE), JSON.stringify({ schemaVersion: 1, keys: [], retired: [] }));
      execFileSync('sh', ['-c', `dd if=/dev/zero of='${join(root, 'filler')}' bs=1k 2>/dev/null; true`]);
      const pinned = [{ id: keyId(pem(A)), publicKey: pem(A), via: 'the ao-app build' }];
      expect((await installApp({ manifest: signed, target, root, trustedKeys: pinned })).status).toBe('already-installed');
    } finally {
      execFileSync('umount', [root]);
    }
  });

  // `--dir /tmp/ao-app` on a shared machine, where another user made the folder first: whoever can write the store can
  // put their key in it, and it had been trusted, the release's signature then meaning nothing.
  it('refuses a remembered-key store another user can write (writable by all, or another user’s) before downloading', async () => {
    const root = await tempDir('root');
    const store = join(root, TRUST_FILE);
    // What another user would write there: their own key B.
    await writeFile(store, JSON.stringify({ schemaVersion: 1, keys: [{ id: keyId(pem(B)), publicKey: pem(B), via: 'planted' }], retired: [] }));
    const before = fetches();
    await chmod(store, 0o666);
    await expect(installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
      code: 'ETRUSTSTORE',
      why: expect.stringContaining('other users can write it'),
    });
    if (process.getuid?.() === 0) {
      await chmod(store, 0o644);
      await chown(store, 65534, 65534);
      await expect(installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).rejects.toMatchObject({
        code: 'ETRUSTSTORE',
        why: expect.stringContaining('belongs to another user (uid 65534)'),
      });
      await chown(store, 0, 0);
    }
    expect(fetches()).toBe(before);
    await chmod(store, 0o644);
    expect((await installApp({ manifest: await manifest('0.11.0', B), target: 'darwin-arm64', root, trustedKeys: [] })).status).toBe('installed');
  });

  it('uses the key compiled into the ao-app build', async () => {
    const cli = await bundledCli([pem(A)]);
    const run = (m: AppManifest, root: string) =>
      new Promise<{ code: number | null; stderr: string }>(async (resolve) => {
        const child = spawn(
          process.execPath,
          [cli, 'install', '--quiet', '--target', 'darwin-arm64', '--dir', root, '--manifest', await writeManifest(await tempDir('m'), m)],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const forged = await run(await manifest('0.10.0', B), await tempDir('root'));
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/not signed by a key this machine trusts/);
    expect((await run(await manifest('0.10.0', A), await tempDir('root'))).code).toBe(0);
  });
});
