import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/temp-root.ts', 'test/support/global-setup.ts'],
    pool: 'forks',
    // Two cores: end-to-end files spawn registries, package managers and daemons of their own.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'out/test-results.json' },
  },
});
