/**
 * The user's home folder as the rewrite and Node see it: `USERPROFILE` on
 * Windows (where `HOME` is usually unset, or set by Git Bash to something
 * else), `HOME` elsewhere; the OS's answer when the variable is empty.
 */
export function homeDir(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  // node:os only when the variable is missing: the launcher imports this on every `ao` call.
  return (platform === 'win32' ? env.USERPROFILE : env.HOME) || process.getBuiltinModule('node:os').homedir();
}

/**
 * A folder setting with its leading `~` read as the home folder, as npm reads its own: `export AO_APP_DIR="~/apps"`
 * (quoted), a .env file or a systemd unit, and `--dir=~/apps` (no shell expands a `~` after `=` there) arrive unexpanded,
 * and a path taken as it is made a folder named `~` in the working folder. `~user` is left as it is.
 */
export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  const separators = platform === 'win32' ? /^~(?=$|[\\/])/ : /^~(?=$|\/)/;
  return path.replace(separators, () => homeDir(env, platform));
}
