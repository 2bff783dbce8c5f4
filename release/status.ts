import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isUserError } from '../common/errors.js';
import { defaultPromoteTag, policyRefusal, type ReleasePolicy } from './policy.js';
import { readPublishRecords, type PublishRecord } from './publish.js';
import { fetchPackument, normalizeRegistry, openReader, type RegistryTarget } from './registry-client.js';
import { STAGE_FILE } from './stage.js';
import { readStage } from './verify.js';

export interface RegistryStatus {
  registry: string;
  /** What publish.json says about this registry (absent: never published there from this stage). */
  record?: Pick<PublishRecord, 'tag' | 'verified' | 'verifiedAt' | 'finishedAt' | 'firstPublish' | 'latestMovedBack' | 'promotions'> & { packages: number };
  /** Read live from the registry: each package's dist-tags and whether it serves the staged bytes. */
  live?: Array<{ name: string; distTags: Record<string, string>; staged: 'same bytes' | 'other bytes' | 'absent' }>;
  /** Why the registry could not be read. */
  unreadable?: string;
  /** What may happen next on this registry. */
  next: { step: 'publish' | 'promote' | 'done'; tag?: string; allowed: boolean; why?: string; fix?: string };
}

export interface ReleaseStatus {
  stageDir: string;
  staged?: { version: string; packages: Array<{ name: string; integrity: string }> };
  registries: RegistryStatus[];
}

/** `ao-release status`: the stage, every registry its publish record names (or --registry), read live. */
export async function releaseStatus(options: { stageDir: string; policy: ReleasePolicy; registry?: RegistryTarget }): Promise<ReleaseStatus> {
  if (!existsSync(join(options.stageDir, STAGE_FILE))) return { stageDir: options.stageDir, registries: [] };
  const staged = await readStage(options.stageDir);
  const records = await readPublishRecords(options.stageDir);
  const urls = new Set(Object.keys(records));
  if (options.registry) urls.add(normalizeRegistry(options.registry.url));
  const registries: RegistryStatus[] = [];
  for (const registry of urls) {
    const record = records[registry];
    const status: RegistryStatus = {
      registry,
      ...(record ? { record: { tag: record.tag, verified: record.verified, packages: record.packages.length, ...pick(record) } } : {}),
      next: { step: 'publish', allowed: true },
    };
    const reader = await openReader({ ...(options.registry && normalizeRegistry(options.registry.url) === registry ? options.registry : {}), url: registry });
    try {
      status.live = [];
      let mainDoc;
      for (const pkg of staged.packages) {
        const doc = await fetchPackument(reader, pkg.name, registry);
        const there = doc?.versions[staged.version];
        status.live.push({
          name: pkg.name,
          distTags: doc?.['dist-tags'] ?? {},
          staged: !there ? 'absent' : there.dist.integrity === pkg.integrity ? 'same bytes' : 'other bytes',
        });
        if (pkg.role === 'main') mainDoc = doc;
      }
      status.next = nextStep(
        staged.version,
        record,
        status.live,
        options.policy,
        mainDoc ? { tags: mainDoc['dist-tags'], versions: Object.keys(mainDoc.versions) } : undefined,
        registry,
      );
    } catch (err) {
      if (!isUserError(err)) throw err;
      status.unreadable = `${err.what}: ${err.why}`;
      status.next = { step: record?.verified ? 'promote' : 'publish', allowed: false, why: 'the registry could not be read', fix: err.fix };
    } finally {
      await reader.close();
    }
    registries.push(status);
  }
  return {
    stageDir: options.stageDir,
    staged: { version: staged.version, packages: staged.packages.map((p) => ({ name: p.name, integrity: p.integrity })) },
    registries,
  };
}

function pick(record: PublishRecord) {
  const { verifiedAt, finishedAt, firstPublish, latestMovedBack, promotions } = record;
  return Object.fromEntries(Object.entries({ verifiedAt, finishedAt, firstPublish, latestMovedBack, promotions }).filter(([, v]) => v !== undefined));
}

function nextStep(
  version: string,
  record: PublishRecord | undefined,
  live: NonNullable<RegistryStatus['live']>,
  policy: ReleasePolicy,
  main: { tags: Record<string, string>; versions: string[] } | undefined,
  registry: string,
): RegistryStatus['next'] {
  const other = live.filter((p) => p.staged === 'other bytes').map((p) => p.name);
  if (other.length > 0)
    return { step: 'publish', allowed: false, why: `${other.join(', ')}@${version} hold other bytes there`, fix: 'stage and publish a new version' };
  if (!record?.verified || record.version !== version || live.some((p) => p.staged === 'absent')) {
    return { step: 'publish', allowed: true, fix: `ao-release publish --registry ${registry}` };
  }
  const tag = defaultPromoteTag(policy, version);
  if (live.every((p) => p.distTags[tag] === version)) return { step: 'done', tag, allowed: true, why: `"${tag}" is on ${version} for every package` };
  const refusal = policyRefusal(policy, { tag, version, currentTagVersion: main?.tags[tag], publishedVersions: main?.versions ?? [] });
  return refusal
    ? { step: 'promote', tag, allowed: false, ...refusal }
    : { step: 'promote', tag, allowed: true, fix: `ao-release promote --registry ${registry}${tag === 'latest' ? '' : ` --tag ${tag}`}` };
}

/** The human form of a status. */
export function statusLines(status: ReleaseStatus): string[] {
  if (!status.staged) return [`nothing staged in ${status.stageDir}`, 'next: ao-release stage --version <v> --binaries <dir>'];
  const lines = [`staged: ${status.staged.version}, ${status.staged.packages.length} packages in ${status.stageDir}`];
  if (status.registries.length === 0) lines.push('published: nowhere yet', 'next: ao-release verify, then ao-release publish --registry <url>');
  for (const r of status.registries) {
    const rec = r.record;
    lines.push(
      `${r.registry}: ${rec ? `${rec.packages} packages published under "${rec.tag}", ${rec.verified ? `verified byte for byte ${rec.verifiedAt ?? ''}`.trim() : 'NOT verified'}` : 'no publish record from this stage'}`,
    );
    if (rec?.firstPublish) lines.push(`  first publish of ${rec.firstPublish.length} package(s): a placeholder holds latest until promote`);
    for (const p of rec?.promotions ?? [])
      lines.push(`  promoted "${p.tag}" ${p.at}${p.previous ? ` (was ${p.previous})` : ''}${p.forcedPrerelease ? ' FORCED prerelease' : ''}`);
    if (r.unreadable) lines.push(`  cannot read it now: ${r.unreadable}`);
    const main = r.live?.at(-1);
    if (main)
      lines.push(
        `  ${main.name} tags: ${
          Object.entries(main.distTags)
            .map(([t, v]) => `${t}=${v}`)
            .join(' ') || 'none'
        }; ${status.staged.version} ${main.staged}`,
      );
    const n = r.next;
    lines.push(
      `  next: ${n.step === 'done' ? `nothing: ${n.why}` : `${n.step}${n.tag ? ` to "${n.tag}"` : ''} ${n.allowed ? 'allowed' : 'NOT allowed'}${n.why ? `: ${n.why}` : ''}${n.fix ? ` (${n.fix})` : ''}`}`,
    );
  }
  return lines;
}
