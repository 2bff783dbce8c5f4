// Types for the tests that import foreign-teardown.mjs (npm run typecheck covers tests).
export function registerBinfmt(): unknown;
export function undoBinfmt(): string[];
