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
      .replace(/^([^:]+:\/\/)([^/?#]*)@/, (_m, scheme: string, userinfo: string) => `${scheme}${maskUserinfo(userinfo)}@`)
      .replace(/([?&][^=&#]*=)[^&#]*/g, '$1***'),
  );
}

/** A URL's `user:password` as `user:***`, a user alone (a token, as git hosts take them) as `***`. */
function maskUserinfo(userinfo: string): string {
  return userinfo.includes(':') ? `${userinfo.split(':')[0]}:***` : '***';
}

/**
 * A setting meant as a URL, its secrets hidden as in one, also when it was written without its scheme (`user:token@host/`,
 * `host/?token=`), which no URL in a message matches: repeated as it was, a refusal of it printed the token.
 */
export function redactUrlSetting(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0];
  let rest = scheme === undefined ? value : value.slice(scheme.length);
  // A password holding "/", "?" or "#" unescaped (a base64 token, a generated password) ends the user and password at no
  // "@" a URL parser or redactSecrets sees, and was printed whole: in a setting that does not parse, all before its last
  // "@" is taken as them.
  const at = rest.lastIndexOf('@');
  if (at !== -1 && !URL.canParse(`${scheme ?? 'http://'}${rest}`)) {
    const userinfo = rest.slice(0, at);
    rest = `${maskUserinfo(userinfo)}${rest.slice(at)}`;
  }
  return scheme === undefined ? redactSecrets(`x://${rest}`).slice('x://'.length) : redactSecrets(`${scheme}${rest}`);
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
