import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../../release/embedded-registry.js';
import { rehearseCutover, publishLegacyAndBridge } from '../../installer/cutover/rehearsal.js';
import { publishPlain, stageFixtureRelease } from '../support/release-fixture.js';

// The legacy user's journey, for real: Verdaccio, npm/pnpm global installs in a
// sandboxed user, the legacy stand-ins, the Go fixture as the rewrite.
let registry: EmbeddedRegistry;

beforeAll(async () => {
  registry = await startEmbeddedRegistry();
  // 0.10.0 is never `latest` while the bridge path is the way in.
  await publishPlain(registry, await stageFixtureRelease('0.10.0'), 'next');
  await publishLegacyAndBridge(registry);
}, 300_000);

afterAll(async () => {
  await registry?.stop();
});

describe('ao update: 0.9.5 -> 0.9.6 -> 0.10.0', () => {
  it('npm: lands on the rewrite with every session and resume id, legacy data untouched', async () => {
    const report = await rehearseCutover({ registry, publishLegacy: false, packageManager: 'npm' });
    expect(report.problems).toEqual([]);
    expect(report.sessionsImported).toBe(report.sessions);
    expect(report.resumeIdsMatched).toBeGreaterThan(0);
    expect(report.legacyHomeUnchanged).toBe(true);
  }, 240_000);
});
