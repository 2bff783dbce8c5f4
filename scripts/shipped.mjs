// The code that ships inside npm packages, each entry bundled into one
// CommonJS file with no runtime dependencies (CommonJS starts faster than ESM,
// which matters for the launcher). Sources are ESM and use import.meta.url;
// the banner provides it.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { build } from 'esbuild';

/**
 * The full launcher's last line. bin/ao loads no lib/launcher-full.cjs without it: yarn 1 and bun write ao's files in
 * place, and a call meeting one cut short could parse it (a cut between two statements) and run half of it.
 */
const FULL_LAUNCHER_END = '//# the end of the ao launcher';

export const SHIPPED = [
  // bin/ao: on the usual path it is the only file Node compiles before the binary takes over (postinstall/README.md).
  // Minified: V8 parses all of it on every call, and it prints no stack of its own (it falls back to the full launcher).
  {
    in: 'postinstall/launcher-entry.ts',
    out: 'launcher.cjs',
    shebang: true,
    minify: true,
    importMetaUrl: false,
    hoistLoadedBuiltins: true,
    define: { __AO_FULL_LAUNCHER_END__: JSON.stringify(FULL_LAUNCHER_END) },
  },
  // lib/launcher-full.cjs: everything else the launcher does, loaded by bin/ao when the usual path is not open.
  { in: 'postinstall/launcher.ts', out: 'launcher-full.cjs', importMetaUrl: false, hoistLoadedBuiltins: true, footer: FULL_LAUNCHER_END },
  { in: 'postinstall/postinstall.ts', out: 'postinstall.cjs' },
  // Loaded by the postinstall only when the platform package is missing: pacote stays off every other path.
  { in: 'postinstall/fetch-platform.ts', out: 'fetch-platform.cjs', minify: true, quiet: ['require-resolve-not-external'] },
  // The desktop app fetcher (ao-app), run on demand, never by install scripts. Not minified: its guard
  // for undici's `assert(!this.paused)` (installer/app/undici-guard.ts) needs undici's function names,
  // and Node builds that assertion's message by parsing the source line, which fails on a minified one.
  { in: 'installer/app/cli.ts', out: 'app-fetcher.cjs', shebang: true },
  // For users who reached 0.10.0 without the bridge, and to finish an interrupted cutover.
  { in: 'installer/cutover/legacy-import-cli.ts', out: 'ao-legacy-import.cjs', shebang: true, minify: true },
];

// Built on every start (a URL object from the file's path): entries that read only import.meta.filename go without
// it (`importMetaUrl: false`), the launcher's saving 0.1 ms a call.
const importMetaUrl = "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;";

/**
 * Environment variables that only tests may act on (crash and park points). Shipped bundles are
 * built without them: `__AO_TEST_HOOKS__` is false there, so the code reading them (guarded by
 * common/test-hooks.ts) is folded away and the names are not in the file (test/ci/test-hooks.test.ts).
 */
export const TEST_HOOK_VARIABLES = ['AO_CUTOVER_CRASH_AT', 'AO_APP_CHECKPOINT', 'AO_PUBLISH_CRASH_AFTER'];

/** Those only the release tool reads (run from source, never bundled): in no bundle, with or without the hooks. */
export const RELEASE_TOOL_TEST_HOOKS = ['AO_PUBLISH_CRASH_AFTER'];

/**
 * Bundles one entry into one CommonJS file (Node built-ins only at run time).
 * `define` writes build-time constants in (the bridge pins its cutover target this way).
 * `options.testHooks` compiles the test hooks in (tests only); `options.plugins` are esbuild plugins
 * (the tests pin their own trusted keys this way).
 */
export async function bundleEntry(entry, outFile, root = process.cwd(), define = {}, options = {}) {
  const result = await build({
    absWorkingDir: root,
    write: false,
    entryPoints: [entry.in],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20.17',
    format: 'cjs',
    define: {
      'import.meta.url': '__import_meta_url',
      'import.meta.filename': '__filename',
      __AO_TEST_HOOKS__: options.testHooks ? 'true' : 'false',
      ...entry.define,
      ...define,
    },
    banner: { js: [entry.shebang && '#!/usr/bin/env node', entry.importMetaUrl !== false && importMetaUrl].filter(Boolean).join('\n') },
    footer: { js: entry.footer ?? '' },
    legalComments: 'none',
    minify: entry.minify ?? false,
    // Folds constants across modules, so code behind a false __AO_TEST_HOOKS__ is dropped even unminified.
    minifySyntax: true,
    plugins: options.plugins ?? [],
    logOverride: Object.fromEntries((entry.quiet ?? []).map((id) => [id, 'silent'])),
    logLevel: 'warning',
  });
  for (const file of result.outputFiles) {
    // Without the banner, a module reading import.meta.url would fail only when its code path runs (a ReferenceError).
    if (entry.importMetaUrl === false && file.text.includes('__import_meta_url'))
      throw new Error(`${entry.in}: a bundled module reads import.meta.url, which this entry is built without; use import.meta.filename`);
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(file.path, entry.hoistLoadedBuiltins ? hoistLoadedBuiltins(file.text) : file.contents);
  }
  return result;
}

/** The built-ins Node itself has loaded before it runs any script (its module loader is made of them). */
const LOADED_BUILTINS = ['node:fs', 'node:path'];

/**
 * One `require` of each already loaded built-in for the whole file, at its top: esbuild writes one per bundled
 * module that imports it (15 in bin/ao), and each costs about 10 µs on every call (0.15 ms of the launcher's usual
 * path, bench/launcher.ts). Requiring a module Node has loaded runs nothing, so where it happens changes nothing else.
 */
function hoistLoadedBuiltins(text) {
  const directive = '"use strict";';
  const at = text.indexOf(directive);
  if (at < 0) throw new Error('hoistLoadedBuiltins: no "use strict" directive in the bundle');
  let body = text.slice(at + directive.length);
  const hoisted = LOADED_BUILTINS.map((id, i) => {
    body = body.replaceAll(`require("${id}")`, `__builtin${i}`);
    return `__builtin${i}=require("${id}")`;
  });
  return `${text.slice(0, at + directive.length)}var ${hoisted.join(',')};${body}`;
}

/** Every shipped file into `outDir`; `options.testHooks` for the bundles tests install. */
export async function bundleShipped(outDir, root = process.cwd(), options = {}) {
  await Promise.all(SHIPPED.map((entry) => bundleEntry(entry, `${outDir}/${entry.out}`, root, {}, options)));
}
