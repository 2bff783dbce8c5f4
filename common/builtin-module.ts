/**
 * A Node built-in, loaded only when a cold path needs it: `process.getBuiltinModule` (Node >= 20.16) costs nothing
 * up front, where a static import would load the module on every launcher call. On an older Node (a distribution's
 * Node 18 installing past `engines` with a warning) the shipped CommonJS bundles take it from `require`: the
 * launcher refuses such a Node, but tells the user to let npm run the install script, which must then work there.
 */
export const builtinModule = ((id: string) => process.getBuiltinModule?.(id) ?? require(id)) as typeof process.getBuiltinModule;
