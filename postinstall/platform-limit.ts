import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PackageManager } from '../common/install-layout.js';
import { homeDirOrNone } from '../common/home.js';

/**
 * A project's own settings that keep a package manager from installing this host's platform package: yarn 2+ and
 * pnpm's `supportedArchitectures` (a team on Macs that lists linux for its images, without `current`), npm's `os`
 * and `cpu` in an .npmrc. A reinstall installs the same platforms again, so the fix is the setting. Read only to
 * explain a missing binary, so a rough reading of the YAML is enough: it names the file, the user reads it.
 */
export interface PlatformLimit {
  file: string;
  /** `supportedArchitectures`, or npm's settings as written (`os=darwin`). */
  settings: string[];
  kind: 'supportedArchitectures' | 'npmrc';
}

export interface Host {
  os: string;
  cpu: string;
}

export function platformLimit(
  manager: PackageManager,
  yarnBerry: boolean,
  project: string | undefined,
  host: Host,
  env = process.env,
): PlatformLimit | undefined {
  const home = homeDirOrNone(env);
  const above = project ? ancestors(project) : [];
  if (manager === 'npm') {
    for (const file of npmrcFiles(project, env)) {
      const limit = npmrcLimit(file, host);
      if (limit) return limit;
    }
    return undefined;
  }
  const candidates =
    manager === 'pnpm'
      ? above.flatMap((dir) => [join(dir, 'pnpm-workspace.yaml'), join(dir, 'package.json')])
      : manager === 'yarn' && yarnBerry
        ? [...above.map((dir) => join(dir, '.yarnrc.yml')), ...(home ? [join(home, '.yarnrc.yml')] : [])]
        : [];
  for (const file of candidates) {
    const text = readOrNone(file);
    if (text === undefined) continue;
    const lists = file.endsWith('package.json') ? pnpmField(text) : yamlLists(text);
    if (lists && !admits(lists, host)) return { file, settings: ['supportedArchitectures'], kind: 'supportedArchitectures' };
  }
  return undefined;
}

/**
 * The npmrc (the project's or the user's) that makes npm offline: every npm command run then stays offline, also the
 * `npm install` a fix names, which needs `--offline=false` to reach the registry. As npm reads them: the first file
 * that sets `offline` decides, and within it the last line.
 */
export function npmrcOffline(project: string | undefined, env = process.env): string | undefined {
  for (const file of npmrcFiles(project, env)) {
    const set = readOrNone(file)?.match(/^\s*offline\s*=\s*\S+\s*$/gm);
    if (set) return /=\s*true\s*$/.test(set.at(-1)!) ? file : undefined;
  }
  return undefined;
}

/** The project's npmrc, then the user's (where npm_config_userconfig points, as npm reads it). */
function npmrcFiles(project: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const home = homeDirOrNone(env);
  const user = env.npm_config_userconfig || env.NPM_CONFIG_USERCONFIG || (home && join(home, '.npmrc'));
  return [...(project ? [join(project, '.npmrc')] : []), ...(user ? [user] : [])];
}

type Lists = { os?: string[]; cpu?: string[] };

/** A missing list means `current`, as both managers read it. */
const admits = (lists: Lists, host: Host) =>
  (['os', 'cpu'] as const).every((key) => !lists[key] || lists[key].includes('current') || lists[key].includes(host[key]));

/** `supportedArchitectures:` in a YAML file, flow (`os: [darwin]`) or block (`os:` then `- darwin`) lists. */
function yamlLists(text: string): Lists | undefined {
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((line) => /^supportedArchitectures\s*:/.test(line));
  if (at < 0) return undefined;
  const block = [lines[at]!.replace(/^supportedArchitectures\s*:/, '')];
  for (const line of lines.slice(at + 1)) {
    if (/^\S/.test(line) && !line.startsWith('#')) break;
    block.push(line.replace(/#.*$/, ''));
  }
  const body = block.join('\n');
  const lists: Lists = {};
  for (const key of ['os', 'cpu'] as const) {
    const match = new RegExp(`\\b${key}\\s*:([\\s\\S]*?)(?=\\b(?:os|cpu|libc)\\s*:|$)`).exec(body);
    if (match) lists[key] = match[1]!.match(/[A-Za-z0-9_]+/g) ?? [];
  }
  return lists;
}

function pnpmField(text: string): Lists | undefined {
  try {
    const field = (JSON.parse(text) as { pnpm?: { supportedArchitectures?: Lists } }).pnpm?.supportedArchitectures;
    return field && typeof field === 'object' ? field : undefined;
  } catch {
    return undefined;
  }
}

function npmrcLimit(file: string, host: Host): PlatformLimit | undefined {
  const text = readOrNone(file);
  if (text === undefined) return undefined;
  const settings: string[] = [];
  for (const key of ['os', 'cpu'] as const) {
    const value = new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*$`, 'm').exec(text)?.[1];
    if (value && value !== host[key]) settings.push(`${key}=${value}`);
  }
  return settings.length ? { file, settings, kind: 'npmrc' } : undefined;
}

function ancestors(dir: string): string[] {
  const all = [dir];
  while (dirname(all[all.length - 1]!) !== all[all.length - 1]) all.push(dirname(all[all.length - 1]!));
  return all;
}

function readOrNone(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
