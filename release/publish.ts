import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
// @ts-expect-error libnpmpublish ships no types (CommonJS: default import only)
import libnpmpublish from 'libnpmpublish';
import pacote from 'pacote';
import { UserError } from '../common/errors.js';
import { writeJsonAtomic } from '../common/fs-atomic.js';
import { acquireLock } from '../common/lock.js';
import { TEST_HOOKS } from '../common/test-hooks.js';
import { packPlaceholder, PLACEHOLDER_VERSION } from './placeholder.js';
import { loadPolicy, tagProblem } from './policy.js';
import type { Matrix } from '../common/matrix.js';
import type { StagedPackage } from './stage.js';
import { fetchPackument, normalizeRegistry, openReader, registryError, setDistTag, type Reader, type RegistryTarget } from './registry-client.js';
import { readStage, verify } from './verify.js';

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
  /**
   * Packages that did not exist in this registry before: each got a placeholder holding `latest`
   * first, since registries tag a package's first publish `latest` whatever `--tag` says.
   */
  firstPublish?: string[];
  /** Packages whose `latest` the registry moved to this version anyway, moved back and read back. */
  latestMovedBack?: string[];
  /** Every package fetched back from the registry and byte-identical to the staged tarball. */
  verified: boolean;
  verifiedAt?: string;
  /** Every dist-tag move promote made from this publish, oldest first. */
  promotions?: Array<{ tag: string; at: string; previous?: string; forcedPrerelease?: true; policyFile?: string }>;
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
  /** Tags only promote may move (release/policy.json's guardedTags by default). */
  guardedTags?: string[];
  /** The matrix the stage was made for (default matrix.json), for the verify that runs first. */
  matrix?: Matrix;
}

export interface PlanStep {
  name: string;
  version: string;
  tarball: string;
  integrity: string;
  action: 'publish' | 'skip';
  /** The registry does not have this package at all yet. */
  firstPublish: boolean;
  /** Its `latest` before this run (undefined for a new package). */
  latestBefore?: string;
}

export function stagingTag(version: string): string {
  return `staging-${version}`;
}

export async function readPublishRecords(stageDir: string): Promise<PublishRecords> {
  try {
    return JSON.parse(await readFile(join(stageDir, PUBLISH_FILE), 'utf8')) as PublishRecords;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError({
      what: `cannot read ${join(stageDir, PUBLISH_FILE)}`,
      why: (err as Error).message,
      fix: 'run publish again; it rewrites the record',
      cause: err,
    });
  }
}

export async function saveRecord(stageDir: string, record: PublishRecord): Promise<void> {
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
  const ordered = publishOrder(packages);
  const docs = await Promise.all(ordered.map((pkg) => fetchPackument(reader, pkg.name, registry)));
  const conflicts: string[] = [];
  const plan = ordered.map((pkg, i): PlanStep => {
    const doc = docs[i];
    const existing = doc?.versions[pkg.version];
    if (existing && existing.dist.integrity !== pkg.integrity) conflicts.push(`${pkg.name}@${pkg.version}`);
    return {
      name: pkg.name,
      version: pkg.version,
      tarball: pkg.tarball,
      integrity: pkg.integrity,
      action: existing ? 'skip' : 'publish',
      firstPublish: !doc,
      latestBefore: doc?.['dist-tags'].latest,
    };
  });
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
  const badTag = tagProblem(tag);
  if (badTag)
    throw new UserError({
      what: `cannot publish under "${tag}"`,
      why: badTag,
      fix: `ao-release publish without --tag (uses ${stagingTag(staged.version)}), then ao-release promote`,
      code: 'EUSAGE',
    });
  if (tag === 'latest' || (options.guardedTags ?? loadPolicy().guardedTags).includes(tag)) {
    throw new UserError({
      what: `refusing to publish under the dist-tag "${tag}"`,
      why: `${tag} moves only after the release is verified in the registry, and only as release/policy.json allows`,
      fix: `ao-release publish without --tag (uses ${stagingTag(staged.version)}), then ao-release promote`,
      code: 'ETAG',
    });
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

    const record: PublishRecord = {
      registry,
      tag,
      version: staged.version,
      startedAt: new Date().toISOString(),
      provenance: options.provenance ?? false,
      packages: [],
      verified: false,
    };
    const mainName = publishOrder(staged.packages).at(-1)!.name;
    const fresh = plan.filter((s) => s.firstPublish);
    if (fresh.length > 0) {
      record.firstPublish = fresh.map((s) => s.name);
      log(
        `first publish of ${fresh.length} package(s) here: a placeholder ${PLACEHOLDER_VERSION} takes latest first, so ${staged.version} stays off latest until promote`,
      );
      const work = join(options.stageDir, 'placeholders');
      await settleAll(
        fresh.map(async (step) => {
          const placeholder = await packPlaceholder(step.name, mainName, work);
          await publishUnlessIdentical({ ...step, version: PLACEHOLDER_VERSION, ...placeholder }, 'latest', options, reader);
          step.latestBefore = PLACEHOLDER_VERSION;
        }),
      );
    }
    // Recorded after each package, so a crash leaves an honest record of what went out.
    let saving = Promise.resolve();
    const done = async (step: PlanStep) => {
      record.packages.push({
        name: step.name,
        version: step.version,
        integrity: step.integrity,
        action: step.action === 'publish' ? 'published' : 'skipped',
        at: new Date().toISOString(),
      });
      saving = saving.then(() => saveRecord(options.stageDir, record));
      await saving;
      // Crash testing: `AO_PUBLISH_CRASH_AFTER=<n>` kills this process once n or more packages are recorded (test builds only).
      const crashAfter = TEST_HOOKS ? Number(process.env.AO_PUBLISH_CRASH_AFTER) : Number.NaN;
      if (record.packages.length >= crashAfter) {
        // Another package, published side by side, may have been pushed after the save awaited above ran: the record
        // on disk then lagged the one in memory by it, and the crash test read one package where two had gone out.
        saving = saving.then(() => saveRecord(options.stageDir, record));
        await saving;
        process.kill(process.pid, 'SIGKILL');
      }
      log(`${step.action === 'publish' ? 'published' : 'already there'} ${step.name}@${step.version}`);
    };
    const publishStep = async (step: PlanStep) => {
      if (step.action === 'publish' && !(await publishUnlessIdentical(step, tag, options, reader))) step.action = 'skip';
      await done(step);
    };
    // Platform packages side by side (independent), then the main package, which pins them all.
    const main = plan.at(-1)!;
    await settleAll(plan.slice(0, -1).map(publishStep));
    await publishStep(main);
    record.packages.sort((a, b) => plan.findIndex((s) => s.name === a.name) - plan.findIndex((s) => s.name === b.name));
    record.finishedAt = new Date().toISOString();
    const movedBack = await keepLatestWhereItWas(plan, tag, reader, options);
    if (movedBack.length > 0) {
      record.latestMovedBack = movedBack;
      log(`the registry moved latest to ${staged.version} on ${movedBack.join(', ')}; moved it back and read it back`);
    }
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

/** Waits for every promise (none left running behind a failure), then throws the first failure. */
async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Publishes one package; false when the registry turned out to have these very bytes already
 * (an earlier, killed run's npm process can finish after this run read the registry).
 */
async function publishUnlessIdentical(step: PlanStep, tag: string, options: PublishOptions, reader: Reader): Promise<boolean> {
  try {
    await registryPublishTarball(step, tag, options, reader);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ECONFLICT') throw err;
    const doc = await fetchPackument(reader, step.name, normalizeRegistry(options.registry.url));
    if (doc?.versions[step.version]?.dist.integrity === step.integrity) return false;
    throw err;
  }
}

/** What `npm publish <tarball> --tag <tag>` does, in this process: the manifest read from the tarball, then libnpmpublish. */
async function registryPublishTarball(step: PlanStep, tag: string, options: PublishOptions, reader: Reader): Promise<void> {
  const registry = normalizeRegistry(options.registry.url);
  try {
    const data = await readFile(step.tarball);
    const manifest = await pacote.manifest(`file:${step.tarball}`, { ...reader.opts, fullMetadata: true, fullReadJson: true } as pacote.Options);
    await libnpmpublish.publish(manifest, data, { ...reader.opts, defaultTag: tag, access: 'public', provenance: options.provenance ?? false });
  } catch (err) {
    throw registryError(err, registry, `publishing ${step.name}@${step.version}`);
  }
}

/**
 * Reads every package's tags after publishing. Where the registry moved `latest` to the
 * version just published (promote's job), it is moved back to where it was and read again.
 */
async function keepLatestWhereItWas(plan: PlanStep[], tag: string, reader: Reader, options: PublishOptions): Promise<string[]> {
  const registry = normalizeRegistry(options.registry.url);
  const moved: string[] = [];
  for (const step of plan.filter((s) => s.action === 'publish')) {
    const latest = (await fetchPackument(reader, step.name, registry))?.['dist-tags'].latest;
    if (latest !== step.version || step.latestBefore === step.version) continue;
    if (!step.latestBefore) {
      throw new UserError({
        what: `${step.name}@${step.version} took "latest" on ${registry} before promote`,
        why: `the registry tagged it latest on publish (asked for "${tag}") and there is no earlier version to move latest back to`,
        fix: `npm dist-tag add ${step.name}@${PLACEHOLDER_VERSION} latest --registry ${registry} after publishing a placeholder, or promote now if this release is ready`,
        code: 'ELATEST',
      });
    }
    await setDistTag(reader, step.name, step.latestBefore, 'latest', registry);
    const after = (await fetchPackument(reader, step.name, registry))?.['dist-tags'].latest;
    if (after !== step.latestBefore) {
      throw new UserError({
        what: `${step.name} keeps "latest" on ${step.version} on ${registry}`,
        why: `moving it back to ${step.latestBefore} did not hold (the registry says ${after})`,
        fix: `npm dist-tag add ${step.name}@${step.latestBefore} latest --registry ${registry}`,
        code: 'ELATEST',
      });
    }
    moved.push(step.name);
  }
  return moved;
}

/** Fetches every package back and compares it byte for byte with what was staged. */
export async function verifyPublished(plan: PlanStep[], reader: Reader, registry: string): Promise<void> {
  const bad: string[] = [];
  await Promise.all(
    plan.map(async (step) => {
      let remote: Buffer;
      try {
        remote = await pacote.tarball(`${step.name}@${step.version}`, reader.opts);
      } catch (err) {
        throw registryError(err, registry, `fetching back ${step.name}@${step.version}`);
      }
      if (!remote.equals(await readFile(step.tarball))) bad.push(`${step.name}@${step.version}`);
    }),
  );
  if (bad.length > 0) {
    throw new UserError({
      what: `post-publish check failed on ${registry}`,
      why: `the registry serves different bytes for ${bad.join(', ')}`,
      fix: 'do not promote this version; investigate the registry (proxy rewriting tarballs?) and publish a new version',
      code: 'EVERIFY',
    });
  }
}
