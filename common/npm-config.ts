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
    env: options.env ?? process.env,
    execPath: process.execPath,
    platform: process.platform,
    cwd: options.cwd,
  });
  await conf.load();
  return { ...(conf.flat as Record<string, unknown>) };
}
