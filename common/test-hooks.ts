declare const __AO_TEST_HOOKS__: boolean | undefined;

/**
 * Whether test-only hooks (AO_CUTOVER_CRASH_AT, AO_APP_CHECKPOINT, AO_PUBLISH_CRASH_AFTER) are honoured. True when run
 * from source (vitest, dist/), false in the shipped bundles: scripts/shipped.mjs defines
 * `__AO_TEST_HOOKS__` false there and esbuild drops the guarded code; tests that spawn bundles
 * build them with `testHooks`.
 */
export const TEST_HOOKS: boolean = typeof __AO_TEST_HOOKS__ === 'undefined' || __AO_TEST_HOOKS__;
