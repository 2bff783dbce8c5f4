/**
 * The legacy V1 session file: one `key=value` per line, split at the first `=`, key and value trimmed;
 * blank lines and `#` lines skipped, lines without `=` ignored, an empty file legal. No quoting or escaping.
 */
export function parseKeyValue(text: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    if (key === '') continue;
    record[key] = line.slice(eq + 1).trim();
  }
  return record;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The file as text, or why it is not a text file (NUL bytes or invalid UTF-8 mean it is garbage, not a record). */
export function decodeText(bytes: Buffer): { text: string } | { error: string } {
  if (bytes.includes(0)) return { error: 'binary content (NUL bytes), not a key=value or JSON text file' };
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { error: 'not valid UTF-8 text' };
  }
}
