import { builtinModule } from './builtin-module.js';
import { UserError } from './errors.js';

/**
 * The user's home folder as the rewrite and Node see it: `USERPROFILE` on
 * Windows (where `HOME` is usually unset, or set by Git Bash to something
 * else), `HOME` elsewhere; the OS's answer when the variable is empty.
 */
export function homeDir(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  // node:os only when the variable is missing: the launcher imports this on every `ao` call.
  return (platform === 'win32' ? env.USERPROFILE : env.HOME) || osHomeDir(platform);
}

/**
 * `path`, unless it came from bytes that are not UTF-8: Node reads the environment and the command line as UTF-8, so a
 * home folder named under a Latin-1 locale (`/home/jos\xe9`) arrives as `/home/jos\uFFFD`, another folder. For what
 * writes or looks for its files there (ao-app, the cutover): ao-app had installed there, exit 0, and ao start, which
 * reads the bytes as they are, found no app-state.json; the cutover found no legacy home there and imported nothing,
 * exit 0. Not applied by homeDir(): the launcher runs with such a home as before.
 */
export function utf8Path(path: string): string {
  if (!path.includes('\uFFFD')) return path;
  throw new UserError({
    what: `cannot use the folder ${path}`,
    why: 'its name arrived with bytes that are not UTF-8 (shown as \uFFFD): Node reads HOME, AO_APP_DIR, AO_RUN_FILE and the command line as UTF-8, and would use another folder than the one named',
    fix: 'give that folder a UTF-8 name (or set HOME, or the variable or flag naming it, to a folder whose name is), then run the command again',
    code: 'EUSAGE',
  });
}

/** homeDir(), or undefined for a user with no home folder at all (ENOHOME): for what only looks there, never needs it. */
export function homeDirOrNone(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return homeDir(env);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOHOME') return undefined;
    throw err;
  }
}

/**
 * The OS's answer, or a UserError: a container user with no entry in /etc/passwd (`docker run -u 48213`, a random uid) and
 * no HOME (`env -i`, a bare exec) has none, and Node's SystemError had been "unexpected error" with a stack trace.
 */
function osHomeDir(platform: string): string {
  try {
    const os = builtinModule('node:os');
    // os.homedir() answers an empty HOME with '' (libuv takes a set variable as it is), and '' made every path below the
    // home relative: ao's cache in each working folder. The passwd entry's folder instead.
    return os.homedir() || os.userInfo().homedir;
  } catch (cause) {
    const variable = platform === 'win32' ? 'USERPROFILE' : 'HOME';
    throw new UserError({
      what: 'cannot tell where the home folder is',
      why: `${variable} is not set, and the system knows no home folder for this user${process.getuid ? ` (uid ${process.getuid()})` : ''}: ${(cause as Error).message}`,
      fix: `set ${variable} to this user's home folder (a writable one, like export ${variable}=/tmp/home in a container), then run the command again`,
      code: 'ENOHOME',
      cause,
    });
  }
}

/**
 * A folder setting with its leading `~` read as the home folder, as npm reads its own: `export AO_APP_DIR="~/apps"`
 * (quoted), a .env file or a systemd unit, and `--dir=~/apps` (no shell expands a `~` after `=` there) arrive unexpanded,
 * and a path taken as it is made a folder named `~` in the working folder. `~user` is left as it is.
 * On Windows the double quotes around a whole value are dropped: cmd.exe's `set AO_BINARY_PATH="C:\Program Files\ao.exe"`
 * keeps them in the value, and no Windows name may hold a `"` (taken as it is, it named a file under the working folder).
 * An empty pair (`set AO_APP_DIR=""`, meant to clear it) stays as it is: dropped, it had named the working folder.
 */
export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  if (platform !== 'win32') return path.replace(/^~(?=$|\/)/, () => homeDir(env, platform));
  return path.replace(/^"([^"]+)"$/, '$1').replace(/^~(?=$|[\\/])/, () => homeDir(env, platform));
}

/** `path` as an absolute one, `~` read as the home folder (absolutePath). */
export function absoluteUserPath(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return absolutePath(expandHome(path, env), path);
}

/**
 * `path` as an absolute one; `given` is how the user wrote it, `variable` the setting it came from, for the message. A
 * relative path needs the current folder, and a shell left in a deleted one (an app version folder an upgrade replaced)
 * has none: Node's "ENOENT, uv_cwd" had been an unexpected error, or a folder to "make writable".
 */
export function absolutePath(path: string, given = path, variable?: string): string {
  const { isAbsolute, resolve } = builtinModule('node:path');
  if (isAbsolute(path)) return resolve(path);
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch (cause) {
    throw new UserError({
      what: variable ? `cannot tell where ${variable}=${given} is` : `cannot tell which folder ${given} is`,
      why: 'it is relative to the current folder, and the current folder no longer exists (deleted while this shell was in it)',
      fix: `cd to an existing folder (like cd ~), or ${variable ? `set ${variable} to an absolute path` : `give ${given} as an absolute path`}, then run the command again`,
      code: 'EUSAGE',
      cause,
    });
  }
  return resolve(cwd, path);
}

/**
 * A folder or file a user named (an option, AO_APP_DIR), as an absolute path: a file: URL, as a browser or a file manager
 * copies a path (`file:///x`, or `file:/x` as Java's File.toURI() prints it), is its path; bytes that are not UTF-8 are
 * refused (utf8Path). A web address (`scheme://...`)
 * names nothing on this machine: `refuse` is given why. Taken as paths, both had been folders named after the scheme in
 * the working folder, exit 0.
 */
export function localPath(value: string, refuse: (why: string) => never, env: NodeJS.ProcessEnv = process.env): string {
  if (/^file:/i.test(value)) {
    try {
      return utf8Path(builtinModule('node:url').fileURLToPath(value));
    } catch (err) {
      return refuse(`it names no path on this machine (${(err as Error).message})`);
    }
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(value)) return refuse("it is a web address, and this is read from this machine's disk");
  return utf8Path(absoluteUserPath(value, env));
}
