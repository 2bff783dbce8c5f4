import { builtinModule } from './builtin-module.js';
/**
 * The user's home folder as the rewrite and Node see it: `USERPROFILE` on
 * Windows (where `HOME` is usually unset, or set by Git Bash to something
 * else), `HOME` elsewhere; the OS's answer when the variable is empty.
 */
export function homeDir(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  // node:os only when the variable is missing: the launcher imports this on every `ao` call.
  return (platform === 'win32' ? env.USERPROFILE : env.HOME) || builtinModule('node:os').homedir();
}
