import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../common/fs-atomic.js';
import { createBackup } from './backup/create.js';
import { backupDirName, type legacyRoots, readManifest } from './backup/manifest.js';
import { checkpoint, type Journal } from './journal.js';
import type { LegacyInstall } from './legacy-install.js';
import { logResumeGuide } from './legacy/guide/summary.js';
import type { CutoverOptions, Flags } from './options.js';
import { installArgs, PACKAGE_NAME } from './package-manager.js';
import type { RewritePaths } from './rewrite.js';
import { trackChild, untrackChild } from './children.js';
import { fetchAppStep, installedPackageAppFetcher } from './steps/app.js';
import { healthStep, type HealthDetail } from './steps/health-step.js';
import { importLegacy, type ImportOutcome } from './steps/import.js';
import { installExact, saveLegacyTarball } from './steps/install.js';
import { checkDiskSpace, checkNode, checkWritable, lookUpTarget, requiredFreeBytes } from './steps/preflight.js';
import { writeLegacyState } from './steps/legacy-state.js';
import { importRecordOf } from './steps/record.js';

/** What the journaled steps need: the run's options plus what `runCutover` found before the journal. */
export interface ForwardContext extends CutoverOptions {
  env: NodeJS.ProcessEnv;
  home: string;
  aoHome: string;
  paths: RewritePaths;
  log: (line: string) => void;
  flags: Flags;
  legacy: LegacyInstall;
  roots: ReturnType<typeof legacyRoots>;
  legacyHome: boolean;
  backupBytes: number;
}

/** The journaled steps of a cutover, in order, from preflight to commit; a throw is rolled back by the caller. */
export async function forward(journal: Journal, ctx: ForwardContext): Promise<void> {
  const { env, log, legacy } = ctx;
  const total = legacy.kind === 'package' ? 6 : 4;
  let n = 0;
  const title = (text: string) => log(`[${++n}/${total}] ${text}`);

  title('Preflight');
  await journal.step('preflight', async () => {
    const resumeScript = join(ctx.aoHome, 'cutover', 'resume.cjs');
    if (ctx.selfBytes) await writeFileAtomic(resumeScript, ctx.selfBytes, 0o755);
    if (legacy.kind === 'none') return { free: await checkDiskSpace(ctx.aoHome, requiredFreeBytes(false, ctx.backupBytes)), ao: ctx.ao };
    const target = await lookUpTarget(ctx.target, env);
    checkNode(target);
    await checkWritable(legacy.pm);
    const free = await checkDiskSpace(ctx.aoHome, requiredFreeBytes(true, ctx.backupBytes));
    log(`  Node ${process.version} ok, ${Math.floor(free / 1e6)} MB free, ${legacy.pm.globalRoot} writable, ${PACKAGE_NAME}@${ctx.target} in the registry`);
    return { free, resumeScript: ctx.selfBytes ? resumeScript : undefined };
  });

  const backupDir = join(ctx.aoHome, 'backups', backupDirName());
  await journal.update({ backupDir });
  title(`Backing up your legacy files to ${backupDir}`);
  await journal.step('backup', async () => {
    const manifest = await createBackup(backupDir, ctx.roots, {
      legacyVersion: legacy.kind === 'package' ? legacy.version : undefined,
      writeExtras:
        legacy.kind === 'package'
          ? async (dir) => {
              const saved = await saveLegacyTarball(legacy.pm, legacy.version, dir, env);
              return { ...saved, file: basename(saved.file) };
            }
          : undefined,
    });
    log(
      `  ${manifest.files.length} files, ${(manifest.bytes / 1e6).toFixed(1)} MB, each with its sha512; ${manifest.worktrees.length} worktrees left in place`,
    );
    if (manifest.unreadable.length > 0)
      log(`  ${manifest.unreadable.length} entries could not be read and were left where they are (listed in ${join(backupDir, 'manifest.json')})`);
    return {
      files: manifest.files.length,
      bytes: manifest.bytes,
      unreadable: manifest.unreadable.length,
      tarball: manifest.tarball ? { ...manifest.tarball, file: join(backupDir, manifest.tarball.file) } : undefined,
    };
  });

  let ao = ctx.ao;
  if (legacy.kind === 'package') {
    const { pm } = legacy;
    const [cmd, args] = installArgs(pm.name, `${PACKAGE_NAME}@${ctx.target}`);
    title(`Installing: ${cmd} ${args.join(' ')}`);
    ({ ao } = await journal.step('install', async () => {
      const result = await installExact(pm, ctx.target, env, undefined, (pid, command) => {
        // On disk before the installer gets far: a crash from here on leaves it running, and the recovery waits for it.
        void trackChild(journal, pid, command).then(() => checkpoint('install', 'during', env));
      });
      await untrackChild(journal);
      return result;
    }));

    title('Fetching the desktop app');
    const app = await journal.step('app', () => fetchAppStep(ctx.fetchApp ?? installedPackageAppFetcher(pm), { home: ctx.home, env, log }));
    if (app.status === 'fetched') log(`  desktop app at ${app.path}`);
    else
      log(
        `  ${app.status === 'skipped' ? app.reason : `app fetch failed (${app.reason})`}; the CLI works without it${app.later ? `; fetch it later with: ${app.later}` : ''}`,
      );
  }

  title('Importing your projects, sessions and resume ids');
  const imported = await journal.step('import', async () => {
    if (!ctx.legacyHome) return { skipped: 'no legacy home' };
    const result = await importLegacy({
      home: ctx.home,
      ao: ao!,
      paths: ctx.paths,
      backupDir,
      manifest: await readManifest(backupDir),
      env,
      onSpawn: (pid, command) => void trackChild(journal, pid, command),
    });
    await untrackChild(journal);
    return result;
  });
  const importedOutcome = 'sessions' in imported ? imported : undefined;
  if (importedOutcome)
    log(
      `  ${importedOutcome.sessions} sessions in ${importedOutcome.projects} projects read; ${importedOutcome.projectsImported} projects imported by ao (${importedOutcome.projectsSkipped} already there); ${importedOutcome.sessionImport ? `${importedOutcome.sessionsInRewrite} sessions imported with their resume ids` : 'this ao imports no sessions'}`,
    );

  title('Starting the daemon, waiting until it is ready, checking what it holds');
  const health = await journal.step('health', () =>
    healthStep({ journal, ao: ao!, target: ctx.target, paths: ctx.paths, env, timeoutMs: ctx.flags.readyTimeoutMs, imported: importedOutcome }),
  );
  log(
    `  daemon pid ${health.pid} on port ${health.port} healthy and ready, version ${health.version}${health.unstamped ? ` (an unstamped build; the installed package is ${ctx.target})` : ''}; stopped again`,
  );

  await journal.step('commit', () => commit(journal, ctx.paths, ctx.home));
  await journal.update({ status: 'done' });
  await journal.archive();
  for (const line of resultLines(journal, backupDir)) log(line);
  logResumeGuide(imported, log);
}

/** The last step: the import record, when a legacy home was imported. */
export async function commit(journal: Journal, paths: RewritePaths, home: string): Promise<{ record?: string }> {
  const record = importRecordOf(journal, home);
  return record ? { record: await writeLegacyState(paths, 'imported.json', record) } : {};
}

/** What a person reads at the end: what the new ao holds, what only the bundle keeps, with counts. */
export function resultLines(journal: Journal, backupDir: string | undefined): string[] {
  const imported = journal.record('import')?.detail as ImportOutcome | { skipped: string } | undefined;
  const health = journal.record('health')?.detail as HealthDetail | undefined;
  const lines = [
    `Done: ao ${journal.data.target} is installed; its daemon was healthy. Your legacy data was only read${backupDir ? `; its backup is ${backupDir}` : ''}.`,
  ];
  if (!imported || !('sessions' in imported) || !health) return lines;
  const onlyBundle = imported.sessions - health.sessionsInRewrite;
  lines.push(
    `  in the new ao: ${health.projectsInRewrite} of ${imported.projects} projects${health.sessionsInRewrite ? `, ${health.sessionsInRewrite} sessions with their resume ids` : ''}`,
  );
  if (onlyBundle > 0)
    lines.push(
      `  kept only in ${imported.bundleFile}: ${onlyBundle} sessions, ${imported.sessionsWithResumeId} of them with an agent resume id (this ao does not import sessions)`,
    );
  // The command that lists and resumes the sessions kept in the bundle is named right after this line.
  for (const d of health.declined ?? []) lines.push(`  kept only in the bundle: project ${d.id}, which the new ao declined (${d.note})`);
  const notInConfig = imported.projects - imported.configProjects.length;
  if (notInConfig > 0) lines.push(`  kept only in the bundle: ${notInConfig} projects that are not in your legacy config`);
  if (imported.quarantined > 0) lines.push(`  ${imported.quarantined} unreadable legacy files were carried in the bundle's quarantine list, not imported`);
  if (imported.skipped > 0)
    lines.push(
      `  ${imported.skipped} legacy entries are neither sessions nor damage (empty id reservations, directories named like sessions); listed in the bundle's skipped list`,
    );
  const backup = journal.record('backup')?.detail as { unreadable?: number } | undefined;
  if (backup?.unreadable)
    lines.push(
      `  ${backup.unreadable} legacy entries could not be read, so they were left where they are and not backed up; listed in the backup's manifest.json`,
    );
  return lines;
}
