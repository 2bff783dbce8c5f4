import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`, the fast loop: these files build no Go (no Go global setup), start no registry,
 * run no package manager and no real rewrite binary; they may use temp folders, loopback servers and
 * child Node processes. `npm test` runs them with everything else. Left out although they need none of
 * that: test/installer/app/failures.test.ts and memory.test.ts (ao-app's bundled command under long
 * deadlines and RSS sampling, 25 s between them), and install.test.ts (the install journeys through that
 * command: 23 s of the loop's 50 s of test files, which held it at 27 s on 2 cores).
 */
export const UNIT_TESTS = [
  'test/common/archive-plan.test.ts',
  'test/common/archive-write.test.ts',
  'test/common/foreign-runner.test.ts',
  'test/common/fs-atomic.test.ts',
  'test/common/home.test.ts',
  'test/common/json-file.test.ts',
  'test/common/lock.test.ts',
  'test/common/matrix.test.ts',
  'test/common/process-identity.test.ts',
  'test/common/progress.test.ts',
  'test/common/streaming-memory.test.ts',
  'test/common/version-output.test.ts',
  'test/common/windows-command.test.ts',
  'test/foreign/support/wine-noise.test.ts',
  'test/installer/app/app-state.test.ts',
  'test/installer/app/download.test.ts',
  'test/installer/app/extract.test.ts',
  'test/installer/app/mirror-policy.test.ts',
  'test/installer/app/partial-file.test.ts',
  'test/installer/app/trust.test.ts',
  'test/installer/cutover/app-step.test.ts',
  'test/installer/cutover/backup.test.ts',
  'test/installer/cutover/bridge.test.ts',
  'test/installer/cutover/children.test.ts',
  'test/installer/cutover/journal.test.ts',
  'test/installer/cutover/legacy/activity.test.ts',
  'test/installer/cutover/legacy/read.test.ts',
  'test/installer/cutover/legacy/resume.test.ts',
  'test/installer/cutover/other-journal.test.ts',
  'test/installer/cutover/package-manager.test.ts',
  'test/installer/cutover/preflight.test.ts',
  'test/installer/cutover/rollback.test.ts',
  'test/layers.test.ts',
  'test/rehearsal/pinned-package.test.ts',
  'test/rehearsal/real-release.test.ts',
  'test/ci/count-results.test.ts',
  'test/ci/ensure-tools.test.ts',
  'test/ci/ci-workflow.test.ts',
  'test/ci/shipped-bundle-guard.test.ts',
  'test/ci/temp-root.test.ts',
  'test/ci/test-hooks.test.ts',
  'test/postinstall/diagnose.test.ts',
  'test/postinstall/install-settle.test.ts',
  'test/postinstall/swap.test.ts',
  'test/postinstall/windows-start.test.ts',
  'test/release/policy.test.ts',
  'test/release/workflow.test.ts',
];

export default defineConfig({
  test: {
    include: UNIT_TESTS,
    globalSetup: ['test/support/temp-root.ts'],
    pool: 'threads',
    // Vitest's default is one thread less than the cores: a single worker on 2 cores, which ran every
    // file in a row. One per core, all started at once (with fewer kept alive, tinypool ends a spare one
    // mid-run and vitest reports "Terminating worker thread" as an unhandled rejection).
    poolOptions: { threads: { maxThreads: availableParallelism(), minThreads: availableParallelism() } },
    // One module graph per worker, not per file (about 7 s less on 2 cores); npm test runs the same
    // files isolated, so a test that leans on another file's leftovers still fails there.
    isolate: false,
    testTimeout: 20_000,
    // test-hooks.test.ts bundles every shipped file twice before its tests: over 10 s (vitest's default) at load 17.
    hookTimeout: 60_000,
  },
});
