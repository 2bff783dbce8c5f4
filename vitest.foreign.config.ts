import { defineConfig } from 'vitest/config';

/**
 * The foreign-platform lane (`npm run test:foreign`): win32-x64 under Wine and
 * linux-arm64 under qemu-user. Its files are named *.foreign.ts so the default
 * `npm test` (test/**\/*.test.ts) never picks them up.
 */
export default defineConfig({
  test: {
    include: ['test/foreign/**/*.foreign.ts'],
    globalSetup: ['test/support/temp-root.ts', 'test/foreign/support/global-setup.ts'],
    pool: 'forks',
    // One Wine file and one qemu file side by side: each is mostly one emulated process at a time.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'out/foreign-results.json' },
  },
});
