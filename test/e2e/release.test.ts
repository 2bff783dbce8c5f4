import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pacote from 'pacote';
import { loadMatrix } from '../../common/matrix.js';
import { REPO_ROOT } from '../../common/paths.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import type { ReleasePolicy } from '../../release/policy.js';
import { promote } from '../../release/promote.js';
import { PLACEHOLDER_VERSION } from '../../release/placeholder.js';
import { publish, readPublishRecords, stagingTag } from '../../release/publish.js';
import type { RegistryTarget } from '../../release/registry-client.js';
import { stage, type StageResult } from '../../release/stage.js';
import { releaseStatus, statusLines } from '../../release/status.js';
import { readStage, verify } from '../../release/verify.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { shippedForTests } from '../../rehearsal/release-fixture.js';
import { corruptedCopy, stageDirOf } from '../release/staged-copy.js';

const run = promisify(execFile);
const matrix = loadMatrix();
const ALL = [...matrix.targets.map((t) => t.package), matrix.mainPackage];
const POLICY: ReleasePolicy = { rewriteFrom: '0.10.0', legacyRange: '0.9.x', bridgeVersion: '0.9.6', guardedTags: ['latest'], cutoverOpen: false };

describe('release journey against a real registry', () => {
  let registry: EmbeddedRegistry;
  let target: RegistryTarget;
  let shipped: string;
  let staged: StageResult;

  // Binaries stamped with the version they are staged as: stage refuses any other.
  const stageAt = async (version: string) =>
    stage({
      matrix,
      version,
      binariesDir: await fixtureBinaries(version),
      outDir: await mkdtemp(join(tmpdir(), `ao-e2e-stage-${version}-`)),
      shippedDir: shipped,
    });
  const packument = (name: string) =>
    pacote.packument(name, { registry: registry.url, fullMetadata: true, preferOnline: true, cache: join(registry.storageDir, 'read-cache') }) as Promise<any>;
  const npm = (args: string[]) =>
    run('npm', [...args, '--registry', registry.url, `--${registry.url.replace(/^http:/, '')}:_authToken=${registry.authToken}`, '--loglevel=error'], {
      env: { ...process.env, npm_config_cache: join(registry.storageDir, 'npm-cache') },
    });
  /** A minimal legacy release of the main package (the 0.9.x TypeScript CLI stand-in). */
  const publishLegacy = async (version: string) => {
    const dir = await mkdtemp(join(tmpdir(), `ao-legacy-${version}-`));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: matrix.mainPackage, version, bin: { ao: 'cli.js' } }));
    await writeFile(join(dir, 'cli.js'), `#!/usr/bin/env node\nconsole.log('${version}')\n`);
    await npm(['publish', dir, '--tag', 'latest']);
  };

  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    target = { url: registry.url, token: registry.authToken, env: { ...process.env, npm_config_cache: join(registry.storageDir, 'npm-cache') } };
    shipped = await shippedForTests();
    staged = await stageAt('0.10.0');
    await publishLegacy('0.9.5');
  });
  afterAll(async () => registry?.stop());

  it('publishes the whole matrix under the staging tag, platform packages first, latest untouched', async () => {
    const lines: string[] = [];
    const { record } = await publish({ stageDir: stageDirOf(staged), registry: target, log: (l) => lines.push(l) });
    expect(record).toMatchObject({ tag: 'staging-0.10.0', version: '0.10.0', verified: true });
    expect(record!.packages.map((p) => p.name)).toEqual(ALL);
    expect(record!.packages.every((p) => p.action === 'published')).toBe(true);
    const mainDoc = await packument(matrix.mainPackage);
    expect(mainDoc['dist-tags']).toMatchObject({ latest: '0.9.5', 'staging-0.10.0': '0.10.0' });
    const mainTime = Date.parse(mainDoc.time['0.10.0']);
    // The platform packages are brand-new here: the registry would have given them latest on first publish.
    expect(record!.firstPublish).toEqual(matrix.targets.map((t) => t.package));
    for (const t of matrix.targets) {
      const doc = await packument(t.package);
      expect(doc['dist-tags'].latest).toBe(PLACEHOLDER_VERSION);
      expect(doc['dist-tags'][stagingTag('0.10.0')]).toBe('0.10.0');
      expect(doc.versions['0.10.0'].dist.integrity).toBe(staged.packages.find((p) => p.name === t.package)!.integrity);
      expect(Date.parse(doc.time['0.10.0'])).toBeLessThan(mainTime);
    }
  });

  it('status: published and verified here, and promote to latest is not allowed while latest is on 0.9.x without the bridge', async () => {
    const status = await releaseStatus({ stageDir: stageDirOf(staged), policy: { ...POLICY, cutoverOpen: true } });
    expect(status.staged!.version).toBe('0.10.0');
    expect(status.registries).toHaveLength(1);
    const here = status.registries[0]!;
    expect(here.record).toMatchObject({ tag: 'staging-0.10.0', verified: true, packages: 7 });
    expect(here.live!.every((p) => p.staged === 'same bytes')).toBe(true);
    expect(here.next).toMatchObject({ step: 'promote', tag: 'latest', allowed: false });
    expect(here.next.why).toContain('the bridge 0.9.6 is not in the registry');
    expect(statusLines(status).at(-1)).toMatch(/^ {2}next: promote to "latest" NOT allowed: /);
  });

  it('resolves exactly one platform package per target from the registry (Arborist with each os/cpu)', async () => {
    const report = await verify({
      stageDir: stageDirOf(staged),
      registry: registry.url,
      npmOptions: { [`${registry.url.replace(/^http:/, '')}:_authToken`]: registry.authToken },
    });
    for (const t of matrix.targets) expect(report.resolution![t.id]).toEqual([t.package]);
  });

  it('a re-run is a no-op, and --dry-run changes nothing', async () => {
    const before = (await packument(matrix.mainPackage)).time.modified;
    const dry = await publish({ stageDir: stageDirOf(staged), registry: target, dryRun: true });
    expect(dry.plan.every((s) => s.action === 'skip')).toBe(true);
    const { record } = await publish({ stageDir: stageDirOf(staged), registry: target });
    expect(record!.packages.every((p) => p.action === 'skipped')).toBe(true);
    expect(record!.verified).toBe(true);
    expect((await packument(matrix.mainPackage)).time.modified).toBe(before);
  });

  it('resumes a publish that stopped part-way: what is there is skipped, the rest goes out', async () => {
    const partial = await stageAt('0.10.1');
    for (const p of partial.packages.slice(0, 2)) await npm(['publish', p.tarball, '--tag', stagingTag('0.10.1')]);
    const { record } = await publish({ stageDir: stageDirOf(partial), registry: target });
    expect(record!.packages.map((p) => p.action)).toEqual(['skipped', 'skipped', 'published', 'published', 'published', 'published', 'published']);
    expect(record!.verified).toBe(true);
  });

  it('a publish SIGKILLed part-way leaves an honest record, and the next run finishes it', async () => {
    const killed = await stageAt('0.10.3');
    const script = join(await mkdtemp(join(tmpdir(), 'ao-cli-child-')), 'child.ts');
    await writeFile(
      script,
      `import { main } from ${JSON.stringify(join(REPO_ROOT, 'release', 'cli.ts'))};\nprocess.exit(await main(process.argv.slice(2)));\n`,
    );
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules', 'vite-node', 'vite-node.mjs'),
        script,
        'publish',
        '--stage',
        stageDirOf(killed),
        '--registry',
        registry.url,
        '--token',
        registry.authToken,
      ],
      // SIGKILLed by itself once two packages are recorded: a test polling from outside raced the publisher, which
      // under load could finish every package, the main one included, between two polls.
      { env: { ...target.env, AO_PUBLISH_CRASH_AFTER: '2' }, stdio: 'ignore' },
    );
    expect(await new Promise((r) => child.once('exit', (_code, signal) => r(signal)))).toBe('SIGKILL');
    const record = (await readPublishRecords(stageDirOf(killed)))[registry.url]!;
    // Two or more platform packages (they go out side by side), never the main one, which waits for them all.
    expect(record.packages.length).toBeGreaterThanOrEqual(2);
    expect(record.packages.map((p) => p.name)).not.toContain(matrix.mainPackage);
    expect(record.verified).toBe(false);
    expect((await packument(matrix.mainPackage)).versions['0.10.3']).toBeUndefined();
    for (const p of record.packages) expect((await packument(p.name)).versions['0.10.3'].dist.integrity).toBe(p.integrity);

    const { record: resumed } = await publish({ stageDir: stageDirOf(killed), registry: target });
    expect(resumed!.verified).toBe(true);
    // Platform packages publish in parallel, so the killed run recorded them in the order they finished.
    const resumedAction = new Map(resumed!.packages.map((p) => [p.name, p.action]));
    expect(record.packages.map((p) => resumedAction.get(p.name))).toEqual(record.packages.map(() => 'skipped'));
    expect(resumed!.packages.at(-1)).toMatchObject({ name: matrix.mainPackage, action: 'published' });
  });

  it('stops on a version already taken with other content and publishes nothing more', async () => {
    const good = await stageAt('0.10.2');
    const first = good.packages[0]!;
    const other = await corruptedCopy(good, first.name, (dir) => writeFile(join(dir, 'README.md'), 'a different build\n'));
    // A different build of the first platform package got out earlier.
    await npm(['publish', (await readStage(other)).packages[0]!.tarball, '--tag', stagingTag('0.10.2')]);
    const err = await publish({ stageDir: stageDirOf(good), registry: target }).catch((e) => e);
    expect(err.code).toBe('ECONFLICT');
    expect(err.message).toContain(`${first.name}@0.10.2 already published with different content`);
    for (const name of ALL.slice(1)) expect((await packument(name)).versions['0.10.2']).toBeUndefined();
    const promoteErr = await promote({ stageDir: stageDirOf(good), registry: target, policy: { ...POLICY, cutoverOpen: true } }).catch((e) => e);
    expect(promoteErr.code).toBe('EPROMOTE');
  });

  it('policy: 0.10.0 may not take latest from 0.9.x without the bridge and an open cutover; then latest moves for all seven', async () => {
    const noBridge = await promote({ stageDir: stageDirOf(staged), registry: target, policy: { ...POLICY, cutoverOpen: true } }).catch((e) => e);
    expect(noBridge.code).toBe('EPOLICY');
    expect(noBridge.why).toContain('the bridge 0.9.6 is not in the registry');
    expect(noBridge.fix).toContain('publish the bridge 0.9.6 first');

    await publishLegacy('0.9.6');
    const tagsBefore = await Promise.all(ALL.map(async (name) => (await packument(name))['dist-tags']));
    const closed = await promote({ stageDir: stageDirOf(staged), registry: target, policy: POLICY }).catch((e) => e);
    expect(closed.code).toBe('EPOLICY');
    expect(closed.fix).toContain('"cutoverOpen": true');
    // A refusal moves nothing (a registry gives a brand-new package `latest` on its first publish, whatever the tag).
    expect(await Promise.all(ALL.map(async (name) => (await packument(name))['dist-tags']))).toEqual(tagsBefore);
    expect(tagsBefore.at(-1)!.latest).toBe('0.9.6');

    const done = await promote({ stageDir: stageDirOf(staged), registry: target, policy: { ...POLICY, cutoverOpen: true } });
    expect(done).toMatchObject({ tag: 'latest', version: '0.10.0', previous: '0.9.6' });
    for (const name of ALL) expect((await packument(name))['dist-tags'].latest).toBe('0.10.0');
    expect((await readPublishRecords(stageDirOf(staged)))[registry.url]!.verified).toBe(true);
  });

  it('a prerelease is promoted to next, never latest unless forced, and a force is printed and recorded', async () => {
    const rc = await stageAt('0.10.1-rc.1');
    await publish({ stageDir: stageDirOf(rc), registry: target });
    const open = { ...POLICY, cutoverOpen: true };
    const moved = await promote({ stageDir: stageDirOf(rc), registry: target, policy: open });
    expect(moved.tag).toBe('next');
    for (const name of ALL) expect((await packument(name))['dist-tags']).toMatchObject({ latest: '0.10.0', next: '0.10.1-rc.1' });

    const refused = await promote({ stageDir: stageDirOf(rc), registry: target, policy: open, tag: 'latest' }).catch((e) => e);
    expect(refused.code).toBe('EPOLICY');
    expect((await packument(matrix.mainPackage))['dist-tags'].latest).toBe('0.10.0');

    const lines: string[] = [];
    const forced = await promote({
      stageDir: stageDirOf(rc),
      registry: target,
      policy: open,
      policyFile: '/reviewed/policy-open.json',
      tag: 'latest',
      forcePrerelease: true,
      log: (l) => lines.push(l),
    });
    expect(forced.forcedPrerelease).toBe(true);
    expect(lines[0]).toBe('FORCED: prerelease 0.10.1-rc.1 takes the guarded tag "latest" (--force-prerelease); recorded in publish.json');
    expect((await readPublishRecords(stageDirOf(rc)))[registry.url]!.promotions).toEqual([
      { tag: 'next', at: expect.any(String) },
      { tag: 'latest', at: expect.any(String), previous: '0.10.0', forcedPrerelease: true, policyFile: '/reviewed/policy-open.json' },
    ]);
  });
});

describe('a first release into a registry that has none of the packages', () => {
  let registry: EmbeddedRegistry;
  afterAll(async () => registry?.stop());

  it('no package carries latest until promote, though registries tag a first publish latest', async () => {
    registry = await startEmbeddedRegistry();
    const target: RegistryTarget = {
      url: registry.url,
      token: registry.authToken,
      env: { ...process.env, npm_config_cache: join(registry.storageDir, 'npm-cache') },
    };
    const first = await stage({
      matrix,
      version: '0.10.0',
      binariesDir: await fixtureBinaries('0.10.0'),
      outDir: await mkdtemp(join(tmpdir(), 'ao-e2e-first-')),
      shippedDir: await shippedForTests(),
    });
    const { record } = await publish({ stageDir: stageDirOf(first), registry: target });
    expect(record!.firstPublish).toEqual(ALL);
    const read = (name: string) =>
      pacote.packument(name, {
        registry: registry.url,
        fullMetadata: true,
        preferOnline: true,
        cache: join(registry.storageDir, 'read-cache'),
      }) as Promise<any>;
    for (const name of ALL) expect((await read(name))['dist-tags']).toEqual({ latest: PLACEHOLDER_VERSION, [stagingTag('0.10.0')]: '0.10.0' });
    expect((await releaseStatus({ stageDir: stageDirOf(first), policy: POLICY })).registries[0]!.next).toEqual({
      step: 'promote',
      tag: 'latest',
      allowed: true,
      fix: `ao-release promote --registry ${registry.url}`,
    });
    await promote({ stageDir: stageDirOf(first), registry: target, policy: POLICY });
    for (const name of ALL) expect((await read(name))['dist-tags'].latest).toBe('0.10.0');
    expect((await releaseStatus({ stageDir: stageDirOf(first), policy: POLICY })).registries[0]!.next).toMatchObject({ step: 'done', tag: 'latest' });
  });
});
