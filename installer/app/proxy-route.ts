import { BlockList, isIP } from 'node:net';
import { isHttpUrl } from '../../common/app-manifest.js';
import { UserError } from '../../common/errors.js';
import { redactUrlSetting } from '../../common/redact.js';
import { clearEnvFor, setEnvFor } from '../../common/shell-quote.js';

/**
 * Which proxy a download URL goes through: the settings undici's EnvHttpProxyAgent is given (proxyAgentOptions), and the same
 * choice made again for a message (proxyInUse), since undici's own matching is private.
 */

/** Where a proxy may be set, first one wins: the usual variables, then npm's config when npm runs us. */
const HTTPS_PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'npm_config_https_proxy', 'npm_config_proxy'];
const HTTP_PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'npm_config_proxy'];

/**
 * The options undici's EnvHttpProxyAgent is given for a download of `urls` (whose addresses a NO_PROXY range keeps off
 * the proxy), or undefined when no proxy is set at all (the dispatcher is then a plain Agent).
 */
export function proxyAgentOptions(urls: string[]): { httpProxy?: string; httpsProxy?: string; noProxy?: string } | undefined {
  if (![...HTTPS_PROXY_VARIABLES, ...HTTP_PROXY_VARIABLES].some((name) => process.env[name])) return undefined;
  return { httpProxy: proxySetting(HTTP_PROXY_VARIABLES), httpsProxy: proxySetting(HTTPS_PROXY_VARIABLES), noProxy: noProxySetting(urls) };
}

/** As curl reads a URL's user and password: percent-escapes decoded; a stray "%" that starts none is taken as it is. */
export function decodeLoosely(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The first of these variables that is set, as the proxy URL undici takes: `host:port` gets http:// (as curl reads it),
 * and the user and password are escaped so undici's decodeURIComponent reads them as curl would (a stray "%" threw
 * 'URI malformed', exit 70). Anything that is still no http(s) URL is the user's to fix, named.
 */
function proxySetting(names: string[]): string | undefined {
  const name = names.find((n) => process.env[n]);
  if (!name) return undefined;
  const value = process.env[name]!.trim();
  const withScheme = value.includes('://') ? value : `http://${value}`;
  if (!isHttpUrl(withScheme)) {
    throw new UserError({
      // Redacted here: written without its scheme, no URL in the message matches it, and the output's redaction missed its password.
      what: `${name}=${redactUrlSetting(value)} is not a proxy URL`,
      why: URL.canParse(withScheme) ? `ao-app talks to a proxy over http or https, not ${new URL(withScheme).protocol}` : 'it does not parse as a URL',
      fix: `set ${name} to the proxy's URL (${setEnvFor(process.platform, name, 'http://proxy.example.com:3128')}), or clear it (${clearEnvFor(process.platform, name)}), then run ao-app install again`,
      code: 'EUSAGE',
    });
  }
  const url = new URL(withScheme);
  url.username = encodeURIComponent(decodeLoosely(url.username));
  url.password = encodeURIComponent(decodeLoosely(url.password));
  return url.toString();
}

/** NO_PROXY (or npm's noproxy) as the dispatcher is given it, for a download of `urls`. */
function noProxySetting(urls: string[]): string | undefined {
  const env = process.env;
  return noProxyList(env.NO_PROXY || env.no_proxy || env.npm_config_noproxy, urls);
}

/**
 * NO_PROXY as curl and Go read it, written for undici: a plain domain covers its subdomains too (`example.com` keeps
 * `downloads.example.com` off the proxy), which undici matches exactly; an address range (`10.0.0.0/8`), which undici
 * does not read, keeps each of `urls` whose host is an address in it off the proxy (a redirect to another address
 * is not covered). Both had sent a private mirror through the proxy. An IPv6 address gets the brackets undici compares.
 * `.example.com`, `*.example.com`, `*` and other addresses stay as they are.
 */
function noProxyList(value: string | undefined, urls: string[]): string | undefined {
  if (!value) return undefined;
  const entries = value.split(/[,\s]+/).filter(Boolean);
  const ranges = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    if (family && bits !== undefined && /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
      ranges.addSubnet(address!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  const inRange = urls.flatMap((url) => {
    const host = URL.canParse(url) ? new URL(url).hostname : '';
    const address = host.replace(/^\[|\]$/g, '');
    const family = isIP(address);
    return family && ranges.check(address, family === 4 ? 'ipv4' : 'ipv6') ? [host] : [];
  });
  const named = entries.flatMap((entry) => {
    // An IPv6 address without brackets (`::1`, as curl and Go take it): undici compares the URL's `[::1]` and read the
    // entry as host ":" and port 1, so an IPv6 mirror went through the proxy.
    if (isIP(entry) === 6) return [`[${entry}]`];
    return /^[.*]/.test(entry) || isIP(entry.replace(/:\d+$/, '')) || entry.includes('/') ? [entry] : [entry, `.${entry}`];
  });
  return [...named, ...inRange].join(',');
}

/**
 * Whether undici's EnvHttpProxyAgent sends `url` straight to its host, given `noProxy` as it was given it (an unset one
 * reads no_proxy, then NO_PROXY). Its rules, written again: entries split at commas and spaces, each `host` or
 * `host:port` (lower-cased); `*` alone is every host; an entry starting `.` or `*` matches the hosts ending in it (less the
 * `*`), any other one the host exactly; an entry with a port matches that port only (the scheme's when the URL has none).
 */
function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  // noProxySetting has read NO_PROXY, no_proxy and npm's noproxy: undefined means none is set.
  const value = noProxy ?? '';
  if (value === '*') return true;
  // `host`, not `hostname`: an IPv6 address keeps its brackets, as the entries write it.
  const host = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return value
    .split(/[,\s]/)
    .filter(Boolean)
    .some((entry) => {
      const [, name = entry, entryPort] = /^(.+):(\d+)$/.exec(entry) ?? [];
      if (entryPort !== undefined && Number(entryPort) !== 0 && Number(entryPort) !== port) return false;
      const wanted = name.toLowerCase();
      return /^[.*]/.test(wanted) ? host.endsWith(wanted.replace(/^\*/, '')) : host === wanted;
    });
}

/**
 * The proxy `url` goes through in a download of `urls`, for a message: as a URL with its scheme, so the output's redaction
 * hides its password (a bare `user:pw@host:port` escaped it). None for a host NO_PROXY keeps off the proxy, and by the
 * URL's scheme: an http:// download with only HTTPS_PROXY set goes direct. A message naming a proxy never used had sent
 * the user after it ("check the proxy").
 */
export function proxyInUse(url: string, urls: string[]): string | undefined {
  try {
    const parsed = new URL(url);
    if (bypassesProxy(parsed, noProxySetting(urls))) return undefined;
    // An http:// download goes through HTTP_PROXY alone; an https:// one through HTTPS_PROXY, else HTTP_PROXY.
    if (parsed.protocol === 'http:') return proxySetting(HTTP_PROXY_VARIABLES);
    return proxySetting(HTTPS_PROXY_VARIABLES) ?? proxySetting(HTTP_PROXY_VARIABLES);
  } catch {
    return undefined;
  }
}
