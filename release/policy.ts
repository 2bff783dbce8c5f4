import { join } from 'node:path';
import semver from 'semver';
import { UserError } from '../common/errors.js';
import { REPO_ROOT } from '../common/paths.js';
import { readJsonFile } from '../common/json-file.js';

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
  /** Where prereleases are promoted by default (they never take a guarded tag unless forced); `next` when absent. */
  prereleaseTag?: string;
}

export const DEFAULT_PRERELEASE_TAG = 'next';

export const POLICY_PATH = join(REPO_ROOT, 'release', 'policy.json');

export function loadPolicy(path = POLICY_PATH): ReleasePolicy {
  const data = readJsonFile(path, {
    what: 'the release policy',
    fix: `restore ${path} (documented in release/README.md)`,
    code: 'EPOLICY',
  }) as Partial<ReleasePolicy>;
  const problems: string[] = [];
  if (typeof data.rewriteFrom !== 'string' || !semver.valid(data.rewriteFrom)) problems.push('"rewriteFrom" must be a version');
  if (typeof data.legacyRange !== 'string' || !semver.validRange(data.legacyRange)) problems.push('"legacyRange" must be a semver range');
  if (typeof data.bridgeVersion !== 'string' || !semver.valid(data.bridgeVersion)) problems.push('"bridgeVersion" must be a version');
  if (!Array.isArray(data.guardedTags) || !data.guardedTags.every((t) => typeof t === 'string')) problems.push('"guardedTags" must be a list of dist-tags');
  if (typeof data.cutoverOpen !== 'boolean') problems.push('"cutoverOpen" must be true or false');
  if (
    data.prereleaseTag !== undefined &&
    (typeof data.prereleaseTag !== 'string' || tagProblem(data.prereleaseTag) || data.guardedTags?.includes(data.prereleaseTag))
  )
    problems.push('"prereleaseTag" must be a dist-tag that is not guarded');
  if (problems.length > 0)
    throw new UserError({
      what: `${path} is not a valid release policy`,
      why: problems.join('; '),
      fix: `edit ${path} (fields in release/README.md)`,
      code: 'EPOLICY',
    });
  return data as ReleasePolicy;
}

/** Why a name cannot be a dist-tag (npm refuses tags that parse as versions or ranges), or undefined. */
export function tagProblem(tag: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(tag)) return `"${tag}" is not a dist-tag name (a letter, then letters, digits, ".", "_" or "-")`;
  if (semver.validRange(tag)) return `"${tag}" reads as a version range, which npm refuses as a dist-tag`;
  return undefined;
}

/** The release line of a version, prerelease dropped: 0.10.0-rc.1 is on the 0.10.0 line. */
function releaseLine(version: string): string {
  const v = semver.parse(version);
  if (!v)
    throw new UserError({
      what: `"${version}" is not a version`,
      why: 'the policy compares exact semver versions',
      fix: 'use an exact version such as 0.10.0',
      code: 'EPOLICY',
    });
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** The tag promote moves when none is given: latest for a release, the prerelease tag for a prerelease. */
export function defaultPromoteTag(policy: ReleasePolicy, version: string): string {
  return semver.prerelease(version) ? (policy.prereleaseTag ?? DEFAULT_PRERELEASE_TAG) : 'latest';
}

/**
 * Why moving `tag` to `version` breaks the policy, or undefined when it may move.
 * `forcePrerelease` lets a prerelease take a guarded tag (the caller records and prints it);
 * it never opens the cutover.
 */
export function policyRefusal(
  policy: ReleasePolicy,
  input: { tag: string; version: string; currentTagVersion?: string; publishedVersions: string[]; forcePrerelease?: boolean },
): { why: string; fix: string } | undefined {
  if (!policy.guardedTags.includes(input.tag)) return undefined;
  if (semver.prerelease(input.version) && !input.forcePrerelease) {
    return {
      why: `${input.version} is a prerelease, and "${input.tag}" is what \`npm install @aoagents/ao\` gives every user`,
      fix: `promote it with --tag ${policy.prereleaseTag ?? DEFAULT_PRERELEASE_TAG} (the default for prereleases); only if it must reach every user, add --force-prerelease (recorded)`,
    };
  }
  // Lines, not versions: semver orders 0.10.0-rc.1 before 0.10.0, but it is the rewrite all the same.
  if (semver.lt(releaseLine(input.version), policy.rewriteFrom)) return undefined;
  if (!input.currentTagVersion || !semver.satisfies(input.currentTagVersion, policy.legacyRange, { includePrerelease: true })) return undefined;
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
