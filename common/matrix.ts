import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import type { AppFormat } from './app-manifest.js';
import { UserError } from './errors.js';
import { MATRIX_PATH, MATRIX_SCHEMA_PATH } from './paths.js';

export type NpmOs = 'darwin' | 'linux' | 'win32';
export type NpmCpu = 'x64' | 'arm64';

export interface Target {
  id: string;
  os: NpmOs;
  cpu: NpmCpu;
  goos: 'darwin' | 'linux' | 'windows';
  goarch: 'amd64' | 'arm64';
  executable: string;
  package: string;
  /** The desktop app artifact; absent for a target with no desktop app (linux-arm64, win32-arm64 in 0.10.3). */
  app?: { file: string; format: AppFormat };
  /** false: left out of releases (no build, no platform package, no pin in the main package). */
  released?: boolean;
}

export interface Matrix {
  mainPackage: string;
  binaryName: string;
  targets: Target[];
}

const GOOS_FOR: Record<NpmOs, Target['goos']> = { darwin: 'darwin', linux: 'linux', win32: 'windows' };
const GOARCH_FOR: Record<NpmCpu, Target['goarch']> = { x64: 'amd64', arm64: 'arm64' };

const schema = JSON.parse(readFileSync(MATRIX_SCHEMA_PATH, 'utf8'));
const validateShape = new Ajv({ allErrors: true }).compile<Matrix>(schema);

function describe(data: unknown, err: ErrorObject): string {
  const parts = err.instancePath.split('/').filter(Boolean);
  let where = 'matrix';
  let field = parts.join('.');
  if (parts[0] === 'targets' && parts[1] !== undefined) {
    const index = Number(parts[1]);
    const entry = (data as { targets?: Array<{ id?: unknown }> }).targets?.[index];
    const id = typeof entry?.id === 'string' ? entry.id : '?';
    where = `target ${id} (targets[${index}])`;
    field = parts.slice(2).join('.');
  }
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return `${where}: missing field "${field ? field + '.' : ''}${missing}"`;
  }
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty: string }).additionalProperty;
    return `${where}: unknown field "${field ? field + '.' : ''}${extra}"`;
  }
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues: unknown[] }).allowedValues.join(', ');
    return `${where}: field "${field}" must be one of ${allowed}`;
  }
  return `${where}: field "${field || '(root)'}" ${err.message ?? 'is invalid'}`;
}

function appProblems(os: NpmOs, app: NonNullable<Target['app']>, where: string): string[] {
  const problems: string[] = [];
  if (os === 'darwin' && app.format !== 'zip') problems.push(`${where}: field "app.format" must be zip for darwin (.app bundles)`);
  if (os === 'win32' && app.format !== 'zip' && app.format !== 'exe')
    problems.push(`${where}: field "app.format" must be exe (the NSIS installer) or zip for win32`);
  if (os !== 'win32' && app.format === 'exe') problems.push(`${where}: exe is a Windows format`);
  if (os !== 'linux' && app.format === 'AppImage') problems.push(`${where}: AppImage is a Linux format`);
  const suffix = app.format === 'AppImage' ? '.AppImage' : `.${app.format}`;
  if (!app.file.endsWith(suffix)) problems.push(`${where}: field "app.file" must end with ${suffix}`);
  return problems;
}

/** Checks shape (JSON schema) and meaning (consistency, uniqueness); lists every problem. */
export function validateMatrix(data: unknown, source = 'matrix.json'): Matrix {
  const problems: string[] = [];
  if (!validateShape(data)) {
    for (const err of validateShape.errors ?? []) problems.push(describe(data, err));
  } else {
    const seen = new Map<string, string>();
    data.targets.forEach((t, i) => {
      const where = `target ${t.id} (targets[${i}])`;
      const claim = (kind: string, value: string) => {
        const key = `${kind}:${value.toLowerCase()}`;
        const first = seen.get(key);
        if (first) problems.push(`${where}: duplicate ${kind} "${value}" (also in ${first})`);
        else seen.set(key, where);
      };
      claim('id', t.id);
      claim('os/cpu', `${t.os}/${t.cpu}`);
      claim('package', t.package);
      if (t.app) claim('app file', t.app.file);
      if (t.id !== `${t.os}-${t.cpu}`) problems.push(`${where}: field "id" must be "${t.os}-${t.cpu}" (os-cpu)`);
      if (t.goos !== GOOS_FOR[t.os]) problems.push(`${where}: field "goos" must be "${GOOS_FOR[t.os]}" for os ${t.os}`);
      if (t.goarch !== GOARCH_FOR[t.cpu]) problems.push(`${where}: field "goarch" must be "${GOARCH_FOR[t.cpu]}" for cpu ${t.cpu}`);
      const wantExe = t.os === 'win32' ? `${data.binaryName}.exe` : data.binaryName;
      if (t.executable !== wantExe) problems.push(`${where}: field "executable" must be "${wantExe}"`);
      if (t.app) problems.push(...appProblems(t.os, t.app, where));
    });
    if (data.targets.every((t) => t.released === false)) problems.push('matrix: every target says "released": false, a release would be empty');
  }
  if (problems.length > 0) {
    throw new UserError({
      what: `${source} is not a valid platform matrix`,
      why: problems.join('; '),
      fix: `edit ${source} (its schema is common/matrix.schema.json)`,
      code: 'EMATRIX',
    });
  }
  return data as Matrix;
}

export function loadMatrix(path = MATRIX_PATH): Matrix {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new UserError({ what: `cannot read ${path}`, why: String((cause as Error).message), code: 'EMATRIX', cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (cause) {
    throw new UserError({ what: `${path} is not JSON`, why: (cause as Error).message, fix: `fix the syntax of ${path}`, code: 'EMATRIX' });
  }
  return validateMatrix(data, path);
}

/** The matrix a release is made of: the targets not marked `"released": false`. */
export function releaseMatrix(matrix: Matrix): Matrix {
  return { ...matrix, targets: matrix.targets.filter((t) => t.released !== false) };
}

/** Released targets that have a desktop app. */
export function appTargets(matrix: Matrix): Array<Target & { app: NonNullable<Target['app']> }> {
  return releaseMatrix(matrix).targets.filter((t): t is Target & { app: NonNullable<Target['app']> } => t.app !== undefined);
}
