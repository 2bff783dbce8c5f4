import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { decodeText } from './kv.js';
import type { QuarantineEntry } from './bundle.js';
import { isObject } from '../../../common/is-object.js';

export const LEGACY_BASE = '.agent-orchestrator';

/** The legacy global config path, first that applies: $AO_GLOBAL_CONFIG, $XDG_CONFIG_HOME/..., ~/.agent-orchestrator/config.yaml. */
export function legacyConfigPath(home: string, env: NodeJS.ProcessEnv): string {
  if (env.AO_GLOBAL_CONFIG) return env.AO_GLOBAL_CONFIG;
  if (env.XDG_CONFIG_HOME) {
    const xdg = join(env.XDG_CONFIG_HOME, 'agent-orchestrator', 'config.yaml');
    if (existsSync(xdg)) return xdg;
  }
  return join(home, LEGACY_BASE, 'config.yaml');
}

export interface LegacyConfig {
  path: string;
  data: Record<string, unknown>;
  /** projectId -> that project's config entry (every key as written). */
  projects: Map<string, Record<string, unknown>>;
}

/** Reads one YAML config; a missing file is undefined, an unreadable one is quarantined. */
export function readYamlConfig(path: string, quarantine: QuarantineEntry[]): LegacyConfig | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    quarantine.push({ path, reason: `cannot read the config: ${(err as Error).message}` });
    return undefined;
  }
  const decoded = decodeText(bytes);
  if ('error' in decoded) {
    quarantine.push({ path, reason: `config is ${decoded.error}` });
    return undefined;
  }
  let data: unknown;
  try {
    data = parse(decoded.text);
  } catch (err) {
    quarantine.push({ path, reason: `config is not valid YAML: ${(err as Error).message.split('\n')[0]}` });
    return undefined;
  }
  if (data == null) data = {};
  if (!isObject(data)) {
    quarantine.push({ path, reason: 'config is not a YAML mapping' });
    return undefined;
  }
  const projects = new Map<string, Record<string, unknown>>();
  if (isObject(data.projects)) {
    for (const [id, entry] of Object.entries(data.projects)) projects.set(id, isObject(entry) ? entry : { value: entry });
  }
  return { path, data, projects };
}
