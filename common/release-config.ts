import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { UserError } from './errors.js';
import { RELEASE_CONFIG_PATH, RELEASE_CONFIG_SCHEMA_PATH } from './paths.js';
import { readJsonFile } from './json-file.js';

/** `release.json` (schema: common/release-config.schema.json). */
export interface ReleaseConfig {
  source: { repository: string; ref: string; moduleDir: string; mainPackage: string };
  go: { mainPath: string; minVersion: string; stamp: { version: string; commit?: string; date?: string } };
  checks: { allowModifiedTree: boolean; unstripped: 'warn' | 'error' };
  package: { repository: { type: 'git'; url: string; directory?: string }; homepage: string; bugs: string; license: string };
}

const validateShape = new Ajv({ allErrors: true }).compile<ReleaseConfig>(JSON.parse(readFileSync(RELEASE_CONFIG_SCHEMA_PATH, 'utf8')));

/** Checks shape (schema) and meaning; lists every problem in one UserError. */
export function validateReleaseConfig(data: unknown, source = 'release.json'): ReleaseConfig {
  const problems: string[] = [];
  if (!validateShape(data)) {
    for (const err of validateShape.errors ?? [])
      problems.push(
        `field "${err.instancePath.split('/').filter(Boolean).join('.') || '(root)'}" ${err.message ?? 'is invalid'}${err.params && 'additionalProperty' in err.params ? ` (${String(err.params.additionalProperty)})` : ''}`,
      );
  } else {
    const { go, source: src } = data;
    if (!go.mainPath.endsWith(src.mainPackage.slice(1))) problems.push(`go.mainPath ${go.mainPath} does not end with source.mainPackage ${src.mainPackage}`);
  }
  if (problems.length > 0) {
    throw new UserError({
      what: `${source} is not a valid release config`,
      why: problems.join('; '),
      fix: `edit ${source} (its schema is common/release-config.schema.json)`,
      code: 'ECONFIG',
    });
  }
  return data as ReleaseConfig;
}

export function loadReleaseConfig(path = RELEASE_CONFIG_PATH): ReleaseConfig {
  const data = readJsonFile(path, { what: 'the release config', fix: `create or fix ${path} (schema: common/release-config.schema.json)`, code: 'ECONFIG' });
  return validateReleaseConfig(data, path);
}

/** The release's git ref with {version} filled in. */
export function sourceRef(config: ReleaseConfig, version: string): string {
  return config.source.ref.replaceAll('{version}', version);
}

/** `-X` pairs for a build: version always, commit and date where the config names variables for them. */
export function stampsFor(config: ReleaseConfig, values: { version: string; commit?: string; date?: string }): Record<string, string> {
  const stamps: Record<string, string> = { [config.go.stamp.version]: values.version };
  if (config.go.stamp.commit && values.commit) stamps[config.go.stamp.commit] = values.commit;
  if (config.go.stamp.date && values.date) stamps[config.go.stamp.date] = values.date;
  return stamps;
}

/** Compares a Go toolchain version (`go1.25.7`, `go1.22rc1`, `devel ...`) with a floor (`1.25`); devel counts as new enough. */
export function goVersionAtLeast(goVersion: string, floor: string): boolean {
  if (goVersion.startsWith('devel')) return true;
  const have = /^go(\d+)\.(\d+)(?:\.(\d+))?/.exec(goVersion);
  if (!have) return false;
  const want = floor.split('.').map(Number);
  const got = [Number(have[1]), Number(have[2]), Number(have[3] ?? 0)];
  for (let i = 0; i < 3; i++) {
    if ((got[i] ?? 0) !== (want[i] ?? 0)) return (got[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

export type PackageMetadata = ReleaseConfig['package'];

/** The package.json fields every released package carries (MIT and nothing else when no config is given). */
export function packageMetadataFields(metadata?: PackageMetadata): Record<string, unknown> {
  if (!metadata) return { license: 'MIT' };
  return { license: metadata.license, repository: metadata.repository, homepage: metadata.homepage, bugs: { url: metadata.bugs } };
}
