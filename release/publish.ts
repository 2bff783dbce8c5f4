import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pacote from 'pacote';
import { UserError } from '../common/errors.js';
import { writeJsonAtomic } from '../common/fs-atomic.js';
import { acquireLock } from '../common/lock.js';
import type { Matrix } from '../common/matrix.js';
import type { StagedPackage } from './stage.js';
import { fetchPackument, normalizeRegistry, npmAuthArgs, openReader, registryError, type Reader, type RegistryTarget } from './registry-client.js';
import { readStage, verify } from './verify.js';

const run = promisify(execFile);

export const PUBLISH_FILE = 'publish.json';

export interface PublishedPackage {
  name: string;
  version: string;
  integrity: string;
  /** `skipped`: the registry already had these exact bytes (a resumed run). */
  action: 'published' | 'skipped';
  at: string;
}

/** What one publish to one registry did; promote trusts only a record with verified: true. */
export interface PublishRecord {
  registry: string;
  tag: string;
  version: string;
  startedAt: string;
  finishedAt?: string;
  provenance: boolean;
  /** In publish order: platform packages first, the main package last. */
  packages: PublishedPackage[];
  /** Every package fetched back from the registry and byte-identical to the staged tarball. */
  verified: boolean;
  verifiedAt?: string;
}

/** publish.json: one record per registry URL. */
export type PublishRecords = Record<string, PublishRecord>;

export interface PublishOptions {
  stageDir: string;
  registry: RegistryTarget;
  /** Defaults to `staging-<version>`; `latest` is refused (promote moves it). */
  tag?: string;
  provenance?: boolean;
  dryRun?: boolean;
  log?: (line: string) => void;
  /** The matrix the stage was made for (default matrix.json), for the verify that runs first. */
  matrix?: Matrix;
}

export interface PlanStep {
  name: string;
  version: string;
  tarball: string;
  integrity: string;
  action: 'publish' | 'skip';
}

export function stagingTag(version: string): string {
  return `staging-${version}`;
}

export async function readPublishRecords(stageDir: string): Promise<PublishRecords> {
  try {
    return JSON.parse(await readFile(join(stageDir, PUBLISH_FILE), 'utf8')) as PublishRecords;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError({ what: `cannot read ${join(stageDir, PUBLISH_FILE)}`, why: (err as Error).message, fix: 'run publish again; it rewrites the record', cause: err });
  }
}

async function saveRecord(stageDir: string, record: PublishRecord): Promise<void> {
  const records = await readPublishRecords(stageDir);
  records[record.registry] = record;
  await writeJsonAtomic(join(stageDir, PUBLISH_FILE), records);
}

/** Platform packages first, main last, whatever order stage.json lists them in. */
export function publishOrder(packages: StagedPackage[]): StagedPackage[] {
  return [...packages.filter((p) => p.role === 'platform'), ...packages.filter((p) => p.role === 'main')];
}

/**
 * Decides, before anything is written, what each package needs. A version the registry
 * already holds with the same bytes is skipped (resume); with other bytes, the whole
 * release stops here, so nothing more is published.
 */
export async function planPublish(packages: StagedPackage[], reader: Reader, registry: string): Promise<PlanStep[]> {
  const plan: PlanStep[] = [];
  const conflicts: string[] = [];
  for (const pkg of publishOrder(packages)) {
    const doc = await fetchPackument(reader, pkg.name, registry);
    const existing = doc?.versions[pkg.version];
    if (existing && existing.dist.integrity !== pkg.integrity) conflicts.push(`${pkg.name}@${pkg.version}`);
    plan.push({ name: pkg.name, version: pkg.version, tarball: pkg.tarball, integrity: pkg.integrity, action: existing ? 'skip' : 'publish' });
  }
  if (conflicts.length > 0) {
    throw new UserError({
      what: `cannot publish to ${registry}: ${conflicts.join(', ')} already published with different content`,
      why: 'registry versions are immutable and the staged tarball differs from the one already there; nothing was published by this run',
      fix: 'stage and publish a new version; if the staged binaries are wrong, rebuild them rather than reuse this version',
      code: 'ECONFLICT',
    });
  }
  return plan;
}

export async function publish(options: PublishOptions): Promise<{ record?: PublishRecord; plan: PlanStep[] }> {
  const log = options.log ?? (() => {});
  const staged = await readStage(options.stageDir);
  const tag = options.tag ?? stagingTag(staged.version);
  if (tag === 'latest') {
    throw new UserError({ what: 'refusing to publish under the dist-tag "latest"', why: 'latest moves only after the release is verified in the registry', fix: `publish without --tag (uses ${stagingTag(staged.version)}), then run promote`, code: 'ETAG' });
  }
  // Only verified bytes go out, whoever calls this.
  await verify({ stageDir: options.stageDir, ...(options.matrix ? { matrix: options.matrix } : {}) });
  const registry = normalizeRegistry(options.registry.url);
  // One publisher per stage folder: two would interleave publish.json records.
  const lock = options.dryRun ? undefined : await acquireLock(join(options.stageDir, 'publish.lock'), { purpose: `publishing ${staged.version}` });
  const reader = await openReader(options.registry).catch(async (err) => {
    await lock?.release();
    throw err;
  });
  try {
    const plan = await planPublish(staged.packages, reader, registry);
    for (const step of plan) log(`${options.dryRun ? 'would ' : ''}${step.action} ${step.name}@${step.version} (${tag})`);
    if (options.dryRun) return { plan };

    const record: PublishRecord = { registry, tag, version: staged.version, startedAt: new Date().toISOString(), provenance: options.provenance ?? false, packages: [], verified: false };
    for (const step of plan) {
      if (step.action === 'publish' && !(await publishUnlessIdentical(step, tag, options, reader))) step.action = 'skip';
      record.packages.push({ name: step.name, version: step.version, integrity: step.integrity, action: step.action === 'publish' ? 'published' : 'skipped', at: new Date().toISOString() });
      // Recorded after each package, so a crash leaves an honest record of what went out.
      await saveRecord(options.stageDir, record);
      log(`${step.action === 'publish' ? 'published' : 'already there'} ${step.name}@${step.version}`);
    }
    record.finishedAt = new Date().toISOString();
    await verifyPublished(plan, reader, registry);
    record.verified = true;
    record.verifiedAt = new Date().toISOString();
    await saveRecord(options.stageDir, record);
    log(`verified ${plan.length} packages byte for byte on ${registry}`);
    return { record, plan };
  } finally {
    await reader.close();
    await lock?.release();
  }
}

/**
 * Publishes one package; false when the registry turned out to have these very bytes already
 * (an earlier, killed run's npm process can finish after this run read the registry).
 */
async function publishUnlessIdentical(step: PlanStep, tag: string, options: PublishOptions, reader: Reader): Promise<boolean> {
  try {
    await npmPublish(step, tag, options);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ECONFLICT') throw err;
    const doc = await fetchPackument(reader, step.name, normalizeRegistry(options.registry.url));
    if (doc?.versions[step.version]?.dist.integrity === step.integrity) return false;
    throw err;
  }
}

async function npmPublish(step: PlanStep, tag: string, options: PublishOptions): Promise<void> {
  const args = ['publish', step.tarball, '--tag', tag, '--registry', normalizeRegistry(options.registry.url), '--access', 'public', '--loglevel=error', ...npmAuthArgs(options.registry)];
  if (options.provenance) args.push('--provenance');
  try {
    await run('npm', args, { env: options.registry.env ?? process.env, maxBuffer: 16 << 20 });
  } catch (err) {
    const output = `${(err as { stdout?: string }).stdout ?? ''}\n${(err as { stderr?: string }).stderr ?? ''}`;
    throw registryError(err, normalizeRegistry(options.registry.url), `publishing ${step.name}@${step.version}`, output);
  }
}

/** Fetches every package back and compares it byte for byte with what was staged. */
export async function verifyPublished(plan: PlanStep[], reader: Reader, registry: string): Promise<void> {
  const bad: string[] = [];
  for (const step of plan) {
    let remote: Buffer;
    try {
      remote = await pacote.tarball(`${step.name}@${step.version}`, reader.opts);
    } catch (err) {
      throw registryError(err, registry, `fetching back ${step.name}@${step.version}`);
    }
    if (!remote.equals(await readFile(step.tarball))) bad.push(`${step.name}@${step.version}`);
  }
  if (bad.length > 0) {
    throw new UserError({ what: `post-publish check failed on ${registry}`, why: `the registry serves different bytes for ${bad.join(', ')}`, fix: 'do not promote this version; investigate the registry (proxy rewriting tarballs?) and publish a new version', code: 'EVERIFY' });
  }
}
