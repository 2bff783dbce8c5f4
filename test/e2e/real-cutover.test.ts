import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearseCutover } from '../../rehearsal/cutover.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { publishRealRewriteRelease } from '../../rehearsal/real-release.js';
import { shippedForTests } from '../../rehearsal/release-fixture.js';
import { canRunRealRewrite, REAL_REWRITE } from '../support/real-rewrite.js';

// The legacy user's journey into the REAL rewrite: 0.9.5 -> the 0.9.6 bridge -> @aoagents/ao@0.10.3 wrapping the
// published linux-x64 binary (released unstamped, with the override recorded), all through a local registry.
describe.runIf(canRunRealRewrite)('ao update: 0.9.5 -> 0.9.6 -> the real 0.10.3', () => {
  let registry: EmbeddedRegistry;
  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    await publishRealRewriteRelease({ registry: { url: registry.url, token: registry.authToken }, shippedDir: await shippedForTests() });
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('projects confirmed by its own ao project ls, sessions and resume ids kept in the bundle, daemon healthy, legacy home byte-identical', async () => {
    const report = await rehearseCutover({ registry, target: REAL_REWRITE.version, targetReports: REAL_REWRITE.reportedVersion, packageManager: 'npm' });
    expect(report.problems).toEqual([]);
    expect(report.sessionImport).toBe(false);
    expect(report.projectsInRewrite).toBe(report.projects);
    expect(report.sessionsInBundle).toBe(report.sessions);
    expect(report.resumeIdsInBundle).toBeGreaterThan(0);
    expect(report.sessionsInRewrite).toBe(0);
    expect(report.daemonHealthy).toBe(true);
    expect(report.legacyHomeUnchanged).toBe(true);
  }, 300_000);
});
