import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { UserError } from '../common/errors.js';
import { REPO_ROOT } from '../common/paths.js';

/**
 * The written rule for moving a dist-tag from the legacy 0.9.x line to the rewrite
 * (see release/README.md). Users on 0.9.x reach the rewrite only through the bridge's
 * `ao update`, so the rewrite may not take a guarded tag while that tag is on the
 * legacy line, unless the bridge is in the registry and the cutover is declared open.
 */
export interface ReleasePolicy {
  /** First version of the rewrite (semver). */
  rewriteFrom: string;
  /** The legacy line (semver range). */
  legacyRange: string;
  /** The legacy release that carries the cutover; must be published first. */
  bridgeVersion: string;
  /** Dist-tags this rule applies to. */
  guardedTags: string[];
  /** Set to true, in a reviewed commit, when the cutover may start. */
  cutoverOpen: boolean;
}

export const POLICY_PATH = join(REPO_ROOT, 'release', 'policy.json');

export function loadPolicy(path = POLICY_PATH): ReleasePolicy {
  let data: Partial<ReleasePolicy>;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new UserError({ what: `cannot read the release policy ${path}`, why: (cause as Error).message, fix: `restore ${path} (documented in release/README.md)`, code: 'EPOLICY', cause });
  }
  const problems: string[] = [];
  if (typeof data.rewriteFrom !== 'string' || !semver.valid(data.rewriteFrom)) problems.push('"rewriteFrom" must be a version');
  if (typeof data.legacyRange !== 'string' || !semver.validRange(data.legacyRange)) problems.push('"legacyRange" must be a semver range');
  if (typeof data.bridgeVersion !== 'string' || !semver.valid(data.bridgeVersion)) problems.push('"bridgeVersion" must be a version');
  if (!Array.isArray(data.guardedTags) || !data.guardedTags.every((t) => typeof t === 'string')) problems.push('"guardedTags" must be a list of dist-tags');
  if (typeof data.cutoverOpen !== 'boolean') problems.push('"cutoverOpen" must be true or false');
  if (problems.length > 0) throw new UserError({ what: `${path} is not a valid release policy`, why: problems.join('; '), fix: `edit ${path} (fields in release/README.md)`, code: 'EPOLICY' });
  return data as ReleasePolicy;
}

/** Why moving `tag` to `version` breaks the policy, or undefined when it may move. */
export function policyRefusal(policy: ReleasePolicy, input: { tag: string; version: string; currentTagVersion?: string; publishedVersions: string[] }): { why: string; fix: string } | undefined {
  if (!policy.guardedTags.includes(input.tag)) return undefined;
  if (semver.lt(input.version, policy.rewriteFrom)) return undefined;
  if (!input.currentTagVersion || !semver.satisfies(input.currentTagVersion, policy.legacyRange)) return undefined;
  const bridgeThere = input.publishedVersions.includes(policy.bridgeVersion);
  if (!bridgeThere) {
    return {
      why: `"${input.tag}" is on the legacy ${input.currentTagVersion} and the bridge ${policy.bridgeVersion} is not in the registry: 0.9.x users would jump to the rewrite without the cutover`,
      fix: `publish the bridge ${policy.bridgeVersion} first (and set "cutoverOpen": true in release/policy.json when the cutover may start)`,
    };
  }
  if (!policy.cutoverOpen) {
    return {
      why: `"${input.tag}" is on the legacy ${input.currentTagVersion} and release/policy.json says "cutoverOpen": false`,
      fix: 'when the cutover may start, set "cutoverOpen": true in release/policy.json in a reviewed commit, then promote again',
    };
  }
  return undefined;
}
