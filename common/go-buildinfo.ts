/**
 * Reads the build info the Go toolchain embeds in every binary (`go version -m`),
 * from ELF, Mach-O and PE files alike, without running them: so a release can check
 * a darwin or windows binary on a Linux runner. Both layouts are read: the inline
 * strings of Go >= 1.18 and the older pointer-based header (Go 1.13 to 1.17).
 */
import { readFileSync } from 'node:fs';
import { offsetOfAddress, readLayout, type Layout } from './executable-layout.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const FLAG_BIG_ENDIAN = 0x1;
const FLAG_VERSION_INLINE = 0x2;

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
}

export interface GoBuildInfo {
  /** e.g. `go1.25.7`. */
  goVersion: string;
  /** The main package path, e.g. `github.com/aoagents/agent-orchestrator/backend/cmd/ao`. */
  path: string;
  /** The main module (`(devel)` as version for a build from a checkout). */
  main?: GoModule;
  deps: GoModule[];
  /** `build` lines: GOOS, GOARCH, CGO_ENABLED, vcs.revision, vcs.modified, -ldflags, -trimpath, ... */
  settings: Record<string, string>;
}

export class NoGoBuildInfoError extends Error {}

export function readGoBuildInfoFile(path: string): GoBuildInfo {
  return readGoBuildInfo(readFileSync(path));
}

export function readGoBuildInfo(buf: Buffer, layout: Layout = readLayout(buf)): GoBuildInfo {
  for (const offset of candidateOffsets(buf, layout)) {
    const info = parseAt(buf, offset, layout);
    if (info) return info;
  }
  throw new NoGoBuildInfoError('no Go build info in it (not a Go binary, or built before Go 1.13)');
}

/** The build info section first (.go.buildinfo, __go_buildinfo), then every occurrence of the magic. */
function* candidateOffsets(buf: Buffer, layout: Layout): Generator<number> {
  const section = layout.sections.find((s) => s.inFile && (s.name === '.go.buildinfo' || s.name === '__go_buildinfo'));
  if (section && buf.subarray(section.offset, section.offset + MAGIC.length).equals(MAGIC)) yield section.offset;
  for (let at = buf.indexOf(MAGIC, layout.base); at >= 0; at = buf.indexOf(MAGIC, at + 1)) yield at;
}

function parseAt(buf: Buffer, at: number, layout: Layout): GoBuildInfo | undefined {
  if (at + 32 > buf.length) return undefined;
  const ptrSize = buf[at + 14];
  const flags = buf[at + 15]!; // in bounds: at + 32 <= buf.length
  if (ptrSize !== 4 && ptrSize !== 8) return undefined;
  let version: string | undefined;
  let mod: string | undefined;
  if (flags & FLAG_VERSION_INLINE) {
    const v = varintString(buf, at + 32);
    const m = v && varintString(buf, v.next);
    version = v?.text;
    mod = m?.text;
  } else {
    const bigEndian = (flags & FLAG_BIG_ENDIAN) !== 0;
    const ptr = (o: number) =>
      ptrSize === 8 ? Number(bigEndian ? buf.readBigUInt64BE(o) : buf.readBigUInt64LE(o)) : bigEndian ? buf.readUInt32BE(o) : buf.readUInt32LE(o);
    const goString = (addr: number): string | undefined => {
      const header = offsetOfAddress(layout, addr);
      if (header === undefined || header + 2 * ptrSize > buf.length) return undefined;
      const data = offsetOfAddress(layout, ptr(header));
      const length = ptr(header + ptrSize);
      if (data === undefined || data + length > buf.length) return undefined;
      return buf.toString('utf8', data, data + length);
    };
    version = goString(ptr(at + 16));
    mod = goString(ptr(at + 16 + ptrSize));
  }
  if (!version?.startsWith('go') && !version?.startsWith('devel')) return undefined;
  return { goVersion: version, ...parseModInfo(stripSentinels(mod ?? '')) };
}

function varintString(buf: Buffer, at: number): { text: string; next: number } | undefined {
  let length = 0;
  let shift = 0;
  let o = at;
  for (;;) {
    if (o >= buf.length || shift > 28) return undefined;
    const byte = buf[o++]!; // o < buf.length, checked just above
    length |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  if (o + length > buf.length) return undefined;
  return { text: buf.toString('utf8', o, o + length), next: o + length };
}

/** The module info is wrapped in two 16-byte sentinels (runtime/debug's modinfo). */
function stripSentinels(mod: string): string {
  return mod.length >= 33 && mod[mod.length - 17] === '\n' ? mod.slice(16, -16) : '';
}

function parseModInfo(text: string): Omit<GoBuildInfo, 'goVersion'> {
  const info: Omit<GoBuildInfo, 'goVersion'> = { path: '', deps: [], settings: {} };
  for (const line of text.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    const module = (): GoModule => ({ path: fields[0] ?? '', version: fields[1] ?? '', ...(fields[2] ? { sum: fields[2] } : {}) });
    if (kind === 'path') info.path = fields[0] ?? '';
    else if (kind === 'mod') info.main = module();
    else if (kind === 'dep') info.deps.push(module());
    else if (kind === 'build') {
      const setting = fields.join('\t');
      const eq = setting.startsWith('"') ? setting.indexOf('=', unquotedEnd(setting)) : setting.indexOf('=');
      if (eq > 0) info.settings[unquote(setting.slice(0, eq))] = unquote(setting.slice(eq + 1));
    }
  }
  return info;
}

function unquotedEnd(s: string): number {
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i + 1;
  }
  return s.length;
}

/** Go quotes a key or value with strconv.Quote when it holds spaces, quotes or control characters. */
function unquote(s: string): string {
  if (!s.startsWith('"')) return s;
  try {
    return JSON.parse(s.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')) as string;
  } catch {
    return s;
  }
}

/** The `-X name=value` pairs of an `-ldflags` string (recorded only for builds without -trimpath). */
export function ldflagsStamps(ldflags: string): Record<string, string> {
  const words = ldflags.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  const stamps: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === '-X' || w === '--X') w = words[++i] ?? '';
    else if (/^--?X=/.test(w)) w = w.replace(/^--?X=/, '');
    else continue;
    w = w.replace(/^(['"])(.*)\1$/, '$2');
    const eq = w.indexOf('=');
    if (eq > 0) stamps[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return stamps;
}
