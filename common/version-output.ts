/**
 * Reads the version out of what a Go CLI prints for `--version` or `version`.
 * Real forms: `ao version 0.10.3` (cobra's --version), `0.10.3 commit abc built 2026-...`
 * (the rewrite's `ao version`), a bare `0.10.3`, and JSON such as `{"version":"0.10.3"}`.
 * Unstamped builds say `dev`, which is returned as is so callers can name it.
 * Node built-ins only: this ships inside @aoagents/ao.
 */
const SEMVER = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

export function versionFromOutput(output: string): string | undefined {
  const text = output.trim();
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { version?: unknown };
      return typeof parsed.version === 'string' ? parsed.version.replace(/^v(?=\d)/, '') : undefined;
    } catch {
      return undefined;
    }
  }
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  let words = firstLine.split(/\s+/).filter(Boolean);
  // "<name> version <v> ..." as cobra prints it.
  if (words.length >= 3 && words[1] === 'version') words = words.slice(2);
  const candidate = words[0];
  if (candidate === undefined) return undefined;
  const match = SEMVER.exec(candidate);
  if (match) return match[1];
  return /^[A-Za-z][\w.-]*$/.test(candidate) ? candidate : undefined;
}
