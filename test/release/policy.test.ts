import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPromoteTag, loadPolicy, policyRefusal, type ReleasePolicy } from '../../release/policy.js';

const policy: ReleasePolicy = { rewriteFrom: '0.10.0', legacyRange: '0.9.x', bridgeVersion: '0.9.6', guardedTags: ['latest'], cutoverOpen: false };

describe('release policy', () => {
  it('the committed policy loads and keeps the cutover closed', () => {
    expect(loadPolicy()).toMatchObject({ rewriteFrom: '0.10.0', bridgeVersion: '0.9.6', cutoverOpen: false });
  });

  it('a malformed policy names every bad field', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ao-policy-')), 'policy.json');
    writeFileSync(path, JSON.stringify({ ...policy, bridgeVersion: 'soon', cutoverOpen: 'yes' }));
    expect(() => loadPolicy(path)).toThrow(/"bridgeVersion" must be a version; "cutoverOpen" must be true or false/);
  });

  it('refuses the rewrite over a 0.9.x latest without the bridge, then while the cutover is closed', () => {
    const base = { tag: 'latest', version: '0.10.0', currentTagVersion: '0.9.5', publishedVersions: ['0.9.5'] };
    expect(policyRefusal({ ...policy, cutoverOpen: true }, base)?.fix).toContain('publish the bridge 0.9.6 first');
    expect(policyRefusal(policy, { ...base, publishedVersions: ['0.9.5', '0.9.6'] })?.why).toContain('"cutoverOpen": false');
    expect(policyRefusal({ ...policy, cutoverOpen: true }, { ...base, publishedVersions: ['0.9.5', '0.9.6'] })).toBeUndefined();
  });

  it('a prerelease of the rewrite is on its line: 0.10.0-rc.1, even forced, may not take latest from 0.9.x', () => {
    const base = { tag: 'latest', version: '0.10.0-rc.1', currentTagVersion: '0.9.5', publishedVersions: ['0.9.5'], forcePrerelease: true };
    expect(policyRefusal({ ...policy, cutoverOpen: true }, base)?.why).toContain('the bridge 0.9.6 is not in the registry');
    expect(policyRefusal(policy, { ...base, publishedVersions: ['0.9.5', '0.9.6'] })?.why).toContain('"cutoverOpen": false');
    // A legacy prerelease holding latest is still the legacy line.
    expect(policyRefusal(policy, { ...base, currentTagVersion: '0.9.6-rc.2' })?.why).toContain('the bridge 0.9.6 is not in the registry');
  });

  it('a prerelease never takes latest, whatever the cutover says, unless forced', () => {
    const open = { ...policy, cutoverOpen: true };
    const input = { tag: 'latest', version: '0.10.1-rc.1', currentTagVersion: '0.10.0', publishedVersions: ['0.9.6', '0.10.0'] };
    const refusal = policyRefusal(open, input);
    expect(refusal?.why).toBe('0.10.1-rc.1 is a prerelease, and "latest" is what `npm install @aoagents/ao` gives every user');
    expect(refusal?.fix).toContain('--tag next');
    expect(policyRefusal(open, { ...input, forcePrerelease: true })).toBeUndefined();
    // Forcing a prerelease does not open the cutover.
    expect(policyRefusal(policy, { ...input, currentTagVersion: '0.9.5', publishedVersions: ['0.9.5', '0.9.6'], forcePrerelease: true })?.why).toContain(
      '"cutoverOpen": false',
    );
  });

  it('a prerelease is promoted to the configured prerelease tag by default', () => {
    expect(defaultPromoteTag(policy, '0.10.0-rc.1')).toBe('next');
    expect(defaultPromoteTag({ ...policy, prereleaseTag: 'beta' }, '0.10.0-beta.3')).toBe('beta');
    expect(defaultPromoteTag(policy, '0.10.0')).toBe('latest');
  });

  it('does not stand in the way of other moves', () => {
    const closed = { tag: 'latest', version: '0.10.0', currentTagVersion: '0.9.5', publishedVersions: [] };
    expect(policyRefusal(policy, { ...closed, tag: 'next' })).toBeUndefined();
    expect(policyRefusal(policy, { ...closed, currentTagVersion: '0.10.0', version: '0.10.1' })).toBeUndefined();
    expect(policyRefusal(policy, { ...closed, currentTagVersion: undefined })).toBeUndefined();
    expect(policyRefusal(policy, { ...closed, version: '0.9.7' })).toBeUndefined();
  });
});
