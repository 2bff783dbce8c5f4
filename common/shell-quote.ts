/** POSIX shell quoting, only where needed, so a printed command can be pasted as is. Node built-ins only: the launcher imports this. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
