import { chmod, cp, readdir, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { UserError } from '../../../common/errors.js';
import { copyRootFromBackup } from '../backup/create.js';
import { backupPathOf, type BackupManifest } from '../backup/manifest.js';
import type { LegacyBundle } from '../legacy/bundle.js';
import { exportLegacyHome } from '../legacy/export.js';
import { aoJson, importCapabilities, RewriteCommandError, type RewritePaths } from '../rewrite.js';
import { writeLegacyState } from './legacy-state.js';
import { runCommand } from '../run.js';

/**
 * Import, with the daemon stopped (the rewrite refuses otherwise): the legacy home is read into our
 * versioned bundle, kept at `~/.ao/legacy/bundle.json` (0600: it carries config secrets); the rewrite's
 * own `ao import --from` takes the projects from a read-only snapshot of the legacy tree; sessions with
 * their resume ids go into the rewrite too when its `ao import --help` offers `--sessions-from`.
 * What the rewrite holds is confirmed afterwards through the running daemon (reconcile.ts).
 */
export interface ImportOutcome {
  bundleFile: string;
  /** Every legacy project the bundle holds. */
  projects: number;
  /** The ones in the legacy config: what `ao import --from` can bring over, and reconcile expects. */
  configProjects: string[];
  projectsImported: number;
  projectsSkipped: number;
  notes: string[];
  sessions: number;
  sessionsWithResumeId: number;
  /** Sessions the rewrite took (0 unless it offers session import). */
  sessionsInRewrite: number;
  sessionImport: boolean;
  resumeIds: { claude: number; codex: number; opencode: number };
  withoutResumeId: number;
  quarantined: number;
  /** Left out with a reason: empty id reservations, directories named like session files (`bundle.skipped`). */
  skipped: number;
}

export function configProjectIds(bundle: Pick<LegacyBundle, 'config'>): string[] {
  const projects = (bundle.config?.data as { projects?: unknown } | undefined)?.projects;
  return projects && typeof projects === 'object' && !Array.isArray(projects) ? Object.keys(projects) : [];
}

const hasResumeId = (s: LegacyBundle['sessions'][number]) => Boolean(s.resume.claudeSessionUuid || s.resume.codexThreadId || s.resume.opencodeSessionId);

/**
 * The root `ao import --from` reads: the legacy base dir as the backup copied it (proven by its sha512s), with
 * the global config as `config.yaml` when it lives elsewhere (XDG, AO_GLOBAL_CONFIG), made read-only.
 */
async function importSnapshot(backupDir: string, manifest: BackupManifest): Promise<string> {
  const root = join(backupDir, 'import-root');
  await removeSnapshot(root);
  await copyRootFromBackup(backupDir, manifest, 'legacyBase', root);
  const globalConfig = manifest.files.find((f) => f.root === 'globalConfig');
  if (globalConfig) await cp(backupPathOf(backupDir, globalConfig), join(root, 'config.yaml'));
  await setWritable(root, false);
  return root;
}

/** Read-only (or writable again) all the way down; names are handled as bytes, like the backup's. */
async function setWritable(dir: string | Buffer, writable: boolean): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true, encoding: 'buffer' } as never)) as unknown as Array<{
    name: Buffer;
    isDirectory(): boolean;
    isFile(): boolean;
  }>;
  if (writable) await chmod(dir, 0o700);
  for (const e of entries) {
    const p = Buffer.concat([Buffer.from(dir), Buffer.from(sep), Buffer.from(e.name)]);
    if (e.isDirectory()) await setWritable(p, writable);
    else if (e.isFile()) await chmod(p, writable ? 0o600 : 0o400);
  }
  if (!writable) await chmod(dir, 0o500);
}

async function removeSnapshot(root: string): Promise<void> {
  if (!(await stat(root).catch(() => undefined))) return;
  await setWritable(root, true);
  await rm(root, { recursive: true, force: true });
}

interface ProjectsReport {
  dryRun: boolean;
  projectsImported: number;
  projectsSkipped: number;
  notes?: string[];
}

interface SessionsReport {
  sessionsImported: number;
  sessionsSkipped: number;
}

function parseReport(stdout: string, command: string): ProjectsReport {
  try {
    const report = JSON.parse(stdout) as ProjectsReport;
    if (typeof report.projectsImported === 'number' && typeof report.projectsSkipped === 'number') return report;
  } catch {
    // reported below
  }
  throw new RewriteCommandError(command, 0, `printed no import report: ${stdout.trim().slice(0, 200)}`);
}

function importFailed(err: unknown, bundleFile: string): UserError {
  const why = err instanceof RewriteCommandError ? err.message : (err as Error).message;
  const fix =
    err instanceof RewriteCommandError && err.exitCode === 2 && /daemon is running/.test(err.detail)
      ? 'stop the new ao daemon (`ao stop`) and run the update again'
      : `nothing was lost; after fixing the cause run the update again (your sessions and resume ids are in ${bundleFile})`;
  return new UserError({ what: 'the rewrite could not import your legacy home', why, fix, code: 'EIMPORT' });
}

export async function importLegacy(opts: {
  home: string;
  ao: string;
  paths: RewritePaths;
  backupDir: string;
  manifest: BackupManifest;
  env: NodeJS.ProcessEnv;
  /** Told of each `ao import` (it writes the store) as it starts. */
  onSpawn?: (pid: number, command: string) => void;
}): Promise<ImportOutcome> {
  const { bundle, report } = await exportLegacyHome({ home: opts.home, env: opts.env });
  const bundleFile = await writeLegacyState(opts.paths, 'bundle.json', bundle);
  const caps = await importCapabilities(opts.ao, opts.env);
  if (!caps.fromDir) {
    throw new UserError({
      what: 'this ao cannot import a legacy home',
      why: '`ao import --help` offers no --from',
      fix: `your sessions and resume ids are kept in ${bundleFile}`,
      code: 'EIMPORT',
    });
  }
  const root = await importSnapshot(opts.backupDir, opts.manifest);
  let projects: ProjectsReport;
  try {
    const args = ['import', '--from', root, '--yes', '--json'];
    const res = await runCommand(opts.ao, args, { env: opts.env, timeoutMs: 10 * 60_000, onSpawn: (pid) => opts.onSpawn?.(pid, `ao ${args.join(' ')}`) });
    if (res.code !== 0) throw new RewriteCommandError(`ao ${args.join(' ')}`, res.code, res.stderr.trim().split('\n').slice(-2).join(' | '));
    // A root with no configured project is not an error for the rewrite: it says so in plain text.
    if (/^No legacy AO projects found/.test(res.stdout.trim())) projects = { dryRun: false, projectsImported: 0, projectsSkipped: 0 };
    else projects = parseReport(res.stdout, `ao ${args.join(' ')}`);
  } catch (err) {
    throw importFailed(err, bundleFile);
  } finally {
    await removeSnapshot(root);
  }
  let sessions: SessionsReport | undefined;
  if (caps.sessionsFrom) {
    const args = ['import', '--sessions-from', bundleFile, '--yes', '--json'];
    sessions = await aoJson<SessionsReport>(opts.ao, args, opts.env, 10 * 60_000, (pid) => opts.onSpawn?.(pid, `ao ${args.join(' ')}`)).catch((err: unknown) =>
      Promise.reject(importFailed(err, bundleFile)),
    );
  }
  return {
    bundleFile,
    projects: bundle.projects.length,
    configProjects: configProjectIds(bundle),
    projectsImported: projects.projectsImported,
    projectsSkipped: projects.projectsSkipped,
    notes: projects.notes ?? [],
    sessions: bundle.sessions.length,
    sessionsWithResumeId: bundle.sessions.filter(hasResumeId).length,
    sessionsInRewrite: sessions ? sessions.sessionsImported + sessions.sessionsSkipped : 0,
    sessionImport: caps.sessionsFrom,
    resumeIds: report.resumeIds,
    withoutResumeId: report.withoutResumeId.length,
    quarantined: report.quarantined,
    skipped: report.skipped,
  };
}
