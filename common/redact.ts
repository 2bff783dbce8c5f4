// @ts-expect-error @npmcli/redact ships no types
import { redactLog } from '@npmcli/redact';
import type { ProgressSink } from './progress.js';

/** A URL inside a message: up to whitespace or the quote that ends a JSON string. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/**
 * A message with the secrets its URLs may carry replaced by `***`: npm's own redactLog takes the
 * password of `user:pass@` (and npm tokens); a user name alone (`https://TOKEN@host`, as git hosts
 * take tokens) and every query value (`?token=...`, signed-URL signatures), which redactLog leaves,
 * are redacted here. Only URLs are touched: redactLog also blanks any UUID, which would bend a path.
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_IN_TEXT, (url) =>
    (redactLog(url) as string)
      .replace(
        /^([^:]+:\/\/)([^/?#]*)@/,
        (_m, scheme: string, userinfo: string) => `${scheme}${userinfo.includes(':') ? `${userinfo.split(':')[0]}:***` : '***'}@`,
      )
      .replace(/([?&][^=&#]*=)[^&#]*/g, '$1***'),
  );
}

/**
 * A setting meant as a URL, its secrets hidden as in one, also when it was written without its scheme (`user:token@host/`,
 * `host/?token=`), which no URL in a message matches: repeated as it was, a refusal of it printed the token.
 */
export function redactUrlSetting(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? redactSecrets(value) : redactSecrets(`x://${value}`).slice('x://'.length);
}

/** `stream`, with every text written to it redacted first (through `write`, by default its own): what a command prints can carry URLs. */
export function redactingSink(stream: NodeJS.WriteStream, write: (text: string) => unknown = (text) => stream.write(text)): ProgressSink {
  return {
    write: (text) => write(redactSecrets(text)),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}
