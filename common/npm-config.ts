// @ts-expect-error @npmcli/config ships no types
import Config from '@npmcli/config';
// @ts-expect-error no types for the definitions entry point (CommonJS: default import only)
import npmDefinitions from '@npmcli/config/lib/definitions/index.js';

/**
 * npm's flat options (registry, scoped registries, auth, proxy, cache, ...) from its
 * config files and environment, loaded by @npmcli/config with npm's own definitions,
 * so every fetch the toolkit makes honours the user's npm settings.
 */
export async function npmFlatOptions(options: { cwd: string; env?: NodeJS.ProcessEnv; npmPath?: string }): Promise<Record<string, unknown>> {
  const { definitions, flatten, nerfDarts, shorthands } = npmDefinitions;
  const conf = new Config({
    definitions,
    flatten,
    nerfDarts,
    shorthands,
    npmPath: options.npmPath ?? options.cwd,
    argv: [process.argv[0], 'npm'],
    env: falseBooleansSpelled(options.env ?? process.env, definitions),
    execPath: process.execPath,
    platform: process.platform,
    cwd: options.cwd,
  });
  await conf.load();
  return { ...(conf.flat as Record<string, unknown>) };
}

/**
 * npm hands a script a boolean set back to false over a config file's true (`npm rebuild --offline=false` with
 * `offline=true` in ~/.npmrc) as an empty `npm_config_<key>`, which @npmcli/config skips as unset: the file's true won
 * again, and the fetch a printed fix ran stayed offline. An empty boolean is the false npm meant.
 */
function falseBooleansSpelled(env: NodeJS.ProcessEnv, definitions: Record<string, { type?: unknown }>): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [name, value] of Object.entries(env)) {
    if (value !== '' || !/^npm_config_/i.test(name)) continue;
    const key = name
      .slice('npm_config_'.length)
      .replace(/(?!^)_/g, '-')
      .toLowerCase();
    if (definitions[key]?.type === Boolean) out[name] = 'false';
  }
  return out;
}
