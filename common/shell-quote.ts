/** POSIX shell quoting, only where needed, so a printed command can be pasted as is. Node built-ins only: the launcher imports this. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A path as one word of a command printed for `platform`'s usual shell: cmd.exe on Windows (double quotes where needed;
 * it reads no single quotes), the POSIX shell elsewhere. cmd also ends a word at `,`, `;` and `=`: unquoted, `rmdir /s /q
 * C:\a,b\x` deleted C:\a and b\x. cmd expands `%NAME%` even inside the quotes, and a caret there is a caret: a folder
 * named `%USERPROFILE%` became the user's profile in `rmdir /s /q` (keepPercentsForCmd).
 */
export function quotePathFor(platform: string, path: string): string {
  if (platform !== 'win32') return shellQuote(path);
  return /^[\w@+:.\\/-]+$/.test(path) ? path : `"${keepPercentsForCmd(path)}"`;
}

/**
 * The inside of a cmd.exe double-quoted word in which no `%NAME%` is expanded: the quote is closed after each `%` and
 * opened again after the one character that follows, so the name cmd looks up starts with a quote (`%"U"SERPROFILE%`),
 * which names no variable, and cmd leaves it as it is. cmd's own commands and the C runtime both join the pieces back into
 * one word without the quotes. Only a `%` before a letter, digit or underscore is broken up: the names Windows and users
 * define start with one, and the character left outside the quotes is then one cmd reads as it is.
 */
function keepPercentsForCmd(inside: string): string {
  return inside.replace(/%(\w)/g, '%"$1"');
}

/**
 * `command` run with the variable `name` set to `value`, as one line for `platform`'s usual shell. cmd.exe has no
 * `NAME=value command` (it says "'NAME' is not recognized"): its `set`, quoted whole so that the space before `&&` does
 * not end up in the value, sets it for that window. `value` is a literal the caller chose (a number, `~/...`).
 */
export function withEnvFor(platform: string, name: string, value: string, command: string): string {
  return platform === 'win32' ? `${setEnvFor(platform, name, value)} && ${command}` : `${name}=${value} ${command}`;
}

/** The line that sets `name` for the commands run after it in the same shell (for `withEnvFor`'s `value`). */
export function setEnvFor(platform: string, name: string, value: string): string {
  return platform === 'win32' ? `set "${name}=${value}"` : `export ${name}=${value}`;
}

/** The line that removes `name` from the same shell: cmd.exe has no unset, and its `set "NAME="` does that. */
export function clearEnvFor(platform: string, name: string): string {
  return platform === 'win32' ? `set "${name}="` : `unset ${name}`;
}

/**
 * The command with which the owner of `path` lets every user read it (`tree`: a folder, everything in it, and its folders
 * entered), for `platform`'s shell. Windows has no chmod: icacls grants it to the built-in Users group, named by its SID,
 * which no language's Windows renames.
 */
export function letEveryoneReadCommand(platform: string, path: string, tree = false): string {
  // RX, not R: a program (ao.exe) must be executable to start, and reading it alone passed the hash check only.
  if (platform === 'win32') return `icacls ${quotePathFor(platform, path)} /grant *S-1-5-32-545:${tree ? '(OI)(CI)RX /t' : 'RX'}`;
  return `chmod ${tree ? '-R a+rX' : 'a+r'} ${shellQuote(path)}`;
}

/**
 * The command that deletes `path` for `platform`'s shell: a `tree` (a folder and what it holds), a `link` (a symbolic link
 * or junction to a folder: the link only, never what it points at) or a `file`. cmd.exe has no rm; its `del` of a link to
 * a folder deletes the files in that folder, and `rmdir` without /s deletes the link alone.
 */
export function removeCommandFor(platform: string, path: string, kind: 'tree' | 'link' | 'file'): string {
  if (kind === 'file') return removeFileCommand([path], platform);
  if (platform !== 'win32') return `${kind === 'tree' ? 'rm -rf' : 'rm'} ${shellQuote(path)}`;
  return `${kind === 'tree' ? 'rmdir /s /q' : 'rmdir'} ${windowsPathWord(path)}`;
}

const windowsPathWord = (path: string) => quotePathFor('win32', path.replace(/\//g, '\\'));

/**
 * The command that deletes files, for the shell a user of `platform` pastes it into: cmd.exe's `del /q` on Windows, `rm -f`
 * elsewhere. A `*` in a file's name stays a pattern (outside the POSIX quotes; cmd expands it within its own).
 */
export function removeFileCommand(files: string[], platform: string = process.platform): string {
  const word = (file: string) => {
    if (platform === 'win32') return windowsPathWord(file);
    const at = file.lastIndexOf('/') + 1;
    const name = file
      .slice(at)
      .split('*')
      .map((part) => (part ? shellQuote(part) : ''))
      .join('*');
    return at ? `${shellQuote(file.slice(0, at - 1) || '/')}/${name}` : name;
  };
  return `${platform === 'win32' ? 'del /q' : 'rm -f'} ${files.map(word).join(' ')}`;
}
