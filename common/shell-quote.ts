/** POSIX shell quoting, only where needed, so a printed command can be pasted as is. Node built-ins only: the launcher imports this. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A path as one word of a command printed for `platform`'s usual shell: cmd.exe on Windows (double quotes where needed;
 * it reads no single quotes), the POSIX shell elsewhere. cmd also ends a word at `,`, `;` and `=`: unquoted, `rmdir /s /q
 * C:\a,b\x` deleted C:\a and b\x. (A `%NAME%` in a path is expanded even inside the quotes; cmd has no escape for it there.)
 */
export function quotePathFor(platform: string, path: string): string {
  if (platform !== 'win32') return shellQuote(path);
  return /^[\w@+:.\\/-]+$/.test(path) ? path : `"${path}"`;
}
