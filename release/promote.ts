import semver from 'semver';
import { UserError } from '../common/errors.js';
import { defaultPromoteTag, loadPolicy, policyRefusal, tagProblem, type ReleasePolicy } from './policy.js';
import { readPublishRecords, saveRecord } from './publish.js';
import { fetchPackument, normalizeRegistry, openReader, setDistTag, type RegistryTarget } from './registry-client.js';
import { readStage } from './verify.js';

export interface PromoteOptions {
  stageDir: string;
  registry: RegistryTarget;
  /** Defaults to latest, or the policy's prerelease tag (`next`) for a prerelease. */
  tag?: string;
  policy?: ReleasePolicy;
  /** Where `policy` came from when it is not release/policy.json: recorded with the promotion, so a swapped policy shows. */
  policyFile?: string;
  /** Lets a prerelease take a guarded tag; recorded in publish.json and printed. */
  forcePrerelease?: boolean;
  dryRun?: boolean;
  log?: (line: string) => void;
}

/**
 * Moves a dist-tag for the whole matrix (platform packages first, main last), only for a
 * version whose publish record says it was verified in this registry, and only when the
 * release policy allows it.
 */
export async function promote(
  options: PromoteOptions,
): Promise<{ tag: string; version: string; packages: string[]; previous?: string; forcedPrerelease?: true }> {
  const log = options.log ?? (() => {});
  const registry = normalizeRegistry(options.registry.url);
  const staged = await readStage(options.stageDir);
  const policy = options.policy ?? loadPolicy();
  const tag = options.tag ?? defaultPromoteTag(policy, staged.version);
  const badTag = tagProblem(tag);
  if (badTag)
    throw new UserError({
      what: `cannot promote ${staged.version} to "${tag}"`,
      why: badTag,
      fix: `ao-release promote --registry ${registry} --tag ${defaultPromoteTag(policy, staged.version)}`,
      code: 'EUSAGE',
    });
  const record = (await readPublishRecords(options.stageDir))[registry];
  if (!record || record.version !== staged.version || !record.verified) {
    throw new UserError({
      what: `refusing to move "${tag}" to ${staged.version} on ${registry}`,
      why: !record
        ? `no publish record for this registry in ${options.stageDir}/publish.json`
        : record.version !== staged.version
          ? `the publish record is for ${record.version}`
          : 'the publish record says post-publish verification did not pass',
      fix: `run publish for ${staged.version} against ${registry} first (it verifies every package after publishing)`,
      code: 'EPROMOTE',
    });
  }
  const mainName = record.packages.at(-1)!.name;
  const reader = await openReader(options.registry);
  let previous: string | undefined;
  try {
    // The registry must still hold exactly what was verified, for every package.
    for (const pkg of record.packages) {
      const doc = await fetchPackument(reader, pkg.name, registry);
      if (doc?.versions[pkg.version]?.dist.integrity !== pkg.integrity) {
        throw new UserError({
          what: `refusing to move "${tag}" to ${staged.version}`,
          why: `${pkg.name}@${pkg.version} in ${registry} is ${doc?.versions[pkg.version] ? 'not the verified tarball' : 'missing'}`,
          fix: 'publish again to re-verify, or release a new version',
          code: 'EPROMOTE',
        });
      }
      if (pkg.name === mainName) {
        previous = doc['dist-tags'][tag];
        const refusal = policyRefusal(policy, {
          tag,
          version: staged.version,
          currentTagVersion: previous,
          publishedVersions: Object.keys(doc.versions),
          forcePrerelease: options.forcePrerelease,
        });
        if (refusal)
          throw new UserError({
            what: `policy refuses moving "${tag}" of ${mainName} to ${staged.version}`,
            why: refusal.why,
            fix: refusal.fix,
            code: 'EPOLICY',
          });
      }
    }
    const forced = options.forcePrerelease === true && semver.prerelease(staged.version) !== null && policy.guardedTags.includes(tag);
    if (forced) log(`FORCED: prerelease ${staged.version} takes the guarded tag "${tag}" (--force-prerelease); recorded in publish.json`);
    for (const pkg of record.packages) {
      log(`${options.dryRun ? 'would move' : 'moving'} ${tag} -> ${pkg.name}@${pkg.version}`);
      if (options.dryRun) continue;
      await setDistTag(reader, pkg.name, pkg.version, tag, registry);
    }
    if (!options.dryRun) {
      const missed = [];
      for (const pkg of record.packages) if ((await fetchPackument(reader, pkg.name, registry))?.['dist-tags'][tag] !== pkg.version) missed.push(pkg.name);
      if (missed.length > 0)
        throw new UserError({
          what: `"${tag}" did not move everywhere`,
          why: `${missed.join(', ')} still point elsewhere on ${registry}`,
          fix: 'run the same promote again (it is idempotent)',
          code: 'EPROMOTE',
        });
      record.promotions = [
        ...(record.promotions ?? []),
        {
          tag,
          at: new Date().toISOString(),
          ...(previous ? { previous } : {}),
          ...(forced ? { forcedPrerelease: true as const } : {}),
          ...(options.policyFile ? { policyFile: options.policyFile } : {}),
        },
      ];
      await saveRecord(options.stageDir, record);
    }
    return {
      tag,
      version: staged.version,
      packages: record.packages.map((p) => p.name),
      ...(previous ? { previous } : {}),
      ...(forced ? { forcedPrerelease: true as const } : {}),
    };
  } finally {
    await reader.close();
  }
}
