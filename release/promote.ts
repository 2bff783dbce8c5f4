import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UserError } from '../common/errors.js';
import { loadPolicy, policyRefusal, type ReleasePolicy } from './policy.js';
import { readPublishRecords } from './publish.js';
import { fetchPackument, normalizeRegistry, npmAuthArgs, openReader, registryError, type RegistryTarget } from './registry-client.js';
import { readStage } from './verify.js';

const run = promisify(execFile);

export interface PromoteOptions {
  stageDir: string;
  registry: RegistryTarget;
  /** Defaults to latest. */
  tag?: string;
  policy?: ReleasePolicy;
  dryRun?: boolean;
  log?: (line: string) => void;
}

/**
 * Moves a dist-tag for the whole matrix (platform packages first, main last), only for a
 * version whose publish record says it was verified in this registry, and only when the
 * release policy allows it.
 */
export async function promote(options: PromoteOptions): Promise<{ tag: string; version: string; packages: string[]; previous?: string }> {
  const log = options.log ?? (() => {});
  const tag = options.tag ?? 'latest';
  const registry = normalizeRegistry(options.registry.url);
  const staged = await readStage(options.stageDir);
  const record = (await readPublishRecords(options.stageDir))[registry];
  if (!record || record.version !== staged.version || !record.verified) {
    throw new UserError({
      what: `refusing to move "${tag}" to ${staged.version} on ${registry}`,
      why: !record ? `no publish record for this registry in ${options.stageDir}/publish.json` : record.version !== staged.version ? `the publish record is for ${record.version}` : 'the publish record says post-publish verification did not pass',
      fix: `run publish for ${staged.version} against ${registry} first (it verifies every package after publishing)`,
      code: 'EPROMOTE',
    });
  }
  const policy = options.policy ?? loadPolicy();
  const mainName = record.packages.at(-1)!.name;
  const reader = await openReader(options.registry);
  let previous: string | undefined;
  try {
    // The registry must still hold exactly what was verified, for every package.
    for (const pkg of record.packages) {
      const doc = await fetchPackument(reader, pkg.name, registry);
      if (doc?.versions[pkg.version]?.dist.integrity !== pkg.integrity) {
        throw new UserError({ what: `refusing to move "${tag}" to ${staged.version}`, why: `${pkg.name}@${pkg.version} in ${registry} is ${doc?.versions[pkg.version] ? 'not the verified tarball' : 'missing'}`, fix: 'publish again to re-verify, or release a new version', code: 'EPROMOTE' });
      }
      if (pkg.name === mainName) {
        previous = doc['dist-tags'][tag];
        const refusal = policyRefusal(policy, { tag, version: staged.version, currentTagVersion: previous, publishedVersions: Object.keys(doc.versions) });
        if (refusal) throw new UserError({ what: `policy refuses moving "${tag}" of ${mainName} to ${staged.version}`, why: refusal.why, fix: refusal.fix, code: 'EPOLICY' });
      }
    }
    for (const pkg of record.packages) {
      log(`${options.dryRun ? 'would move' : 'moving'} ${tag} -> ${pkg.name}@${pkg.version}`);
      if (options.dryRun) continue;
      try {
        await run('npm', ['dist-tag', 'add', `${pkg.name}@${pkg.version}`, tag, '--registry', registry, '--loglevel=error', ...npmAuthArgs(options.registry)], { env: options.registry.env ?? process.env });
      } catch (err) {
        throw registryError(err, registry, `moving ${tag} of ${pkg.name}`, `${(err as { stderr?: string }).stderr ?? ''}`);
      }
    }
    if (!options.dryRun) {
      const missed = [];
      for (const pkg of record.packages) if ((await fetchPackument(reader, pkg.name, registry))?.['dist-tags'][tag] !== pkg.version) missed.push(pkg.name);
      if (missed.length > 0) throw new UserError({ what: `"${tag}" did not move everywhere`, why: `${missed.join(', ')} still point elsewhere on ${registry}`, fix: 'run the same promote again (it is idempotent)', code: 'EPROMOTE' });
    }
  } finally {
    await reader.close();
  }
  return { tag, version: staged.version, packages: record.packages.map((p) => p.name), ...(previous ? { previous } : {}) };
}
