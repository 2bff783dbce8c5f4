import { rm } from 'node:fs/promises';
import { homeDir } from '../../common/home.js';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { formatError, UserError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs-atomic.js';
import { acquireLock, type Lock } from '../../common/lock.js';
import { backupDirName, createBackup, legacyRoots, measureRoots, readManifest } from './backup.js';
import { checkpoint, holdSignals, Interrupted, Journal, planRecovery, withSignalsDeferred, type PackageManagerInfo } from './journal.js';
import { findActiveSessions } from './legacy/activity.js';
import { hasLegacyHome } from './legacy/export.js';
import { detectPackageManager, installArgs, installedVersion, packageDirOf, PACKAGE_NAME } from './package-manager.js';
import { rollback } from './rollback.js';
import { fetchAppStep, installedPackageAppFetcher, type AppFetcher } from './steps/app.js';
import { healthStep, type HealthDetail } from './steps/health-step.js';
import { importLegacy, type ImportOutcome } from './steps/import.js';
import { importRecordOf, writeImportRecord } from './steps/record.js';
import { liveDaemon, rewritePaths, type RewritePaths } from './rewrite.js';
import { installExact, saveLegacyTarball } from './steps/install.js';
import { settleOrphanedChild, trackChild, untrackChild } from './children.js';
import { logResumeGuide } from './legacy/guide/summary.js';
import { checkDiskSpace, checkNode, checkWritable, lookUpTarget } from './steps/preflight.js';

/**
 * `ao update` on the 0.9.6 bridge (mode "update") and `ao-legacy-import` on the
 * rewrite (mode "legacy-import", no package install): preflight, backup,
 * install, app, import, health, each a journal step; any failure from the
 * install on is rolled back. Legacy data is only ever read.
 */
export interface CutoverOptions {
  mode: 'update' | 'legacy-import';
  argv: string[];
  /** The pinned version to install (update) or the rewrite's own version (legacy-import). */
  target: string;
  env?: NodeJS.ProcessEnv;
  /** The running cutover file: locates the legacy package (update). */
  selfFile?: string;
  /** The running cutover's bytes, read at start-up, saved as `~/.ao/cutover/resume.cjs` before the install replaces them. */
  selfBytes?: Buffer;
  /** legacy-import: the rewrite's `ao` executable. */
  ao?: string;
  fetchApp?: AppFetcher;
  tmuxHasSession?: (name: string) => Promise<boolean>;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

interface Flags {
  check: boolean;
  yes: boolean;
  forceMigrate: boolean;
  readyTimeoutMs: number;
}

const USAGE = 'usage: ao update [--check|--dry-run] [--yes] [--force-migrate] [--ready-timeout <seconds>]';

export function parseFlags(argv: string[]): Flags {
  const flags: Flags = { check: false, yes: false, forceMigrate: false, readyTimeoutMs: 60_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--check' || a === '--dry-run') flags.check = true;
    else if (a === '--yes' || a === '-y') flags.yes = true;
    else if (a === '--force-migrate') flags.forceMigrate = true;
    else if (a === '--ready-timeout' || a.startsWith('--ready-timeout=')) {
      const value = a.includes('=') ? a.split('=')[1] : argv[++i];
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw new UserError({ what: `invalid --ready-timeout ${JSON.stringify(value)}`, why: 'it takes a number of seconds', fix: USAGE, code: 'EUSAGE' });
      flags.readyTimeoutMs = seconds * 1000;
    } else throw new UserError({ what: `unknown option ${a}`, why: 'ao update does not take it', fix: USAGE, code: 'EUSAGE' });
  }
  return flags;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, notUndone: 3, interrupted: 130 } as const;

export async function runCutover(opts: CutoverOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const stderr = opts.stderr ?? process.stderr;
  const log = (line: string) => stderr.write(`${line}\n`);
  const home = homeDir(env);
  const paths = rewritePaths(home, env);
  const aoHome = paths.aoHome;
  const name = opts.mode === 'update' ? 'ao update' : 'ao-legacy-import';
  let lock: Lock | undefined;
  let releaseSignals: (() => void) | undefined;
  try {
    const flags = parseFlags(opts.argv);
    if (!flags.check) lock = await acquireLock(join(aoHome, 'cutover', 'update.lock'), { purpose: name });

    // 1. A journal a crash left behind is finished or rolled back first.
    const pending = await Journal.load(aoHome, env);
    const recovery = planRecovery(pending?.data);
    if (pending && recovery !== 'none') {
      if (flags.check) log(`${name}: an interrupted cutover (${pending.data.id}) will be ${recovery === 'finish' ? 'finished' : 'rolled back'} first`);
      else {
        const done = await recover(pending, recovery, { paths, home, env, log });
        if (done !== undefined) return done;
        // A cutover of the other kind (ao update found by ao-legacy-import, or the reverse) is
        // only recovered here; starting the other flow on top of it would mix the two.
        if (pending.data.command !== opts.mode) {
          log(`${name}: recovered the interrupted ${pending.data.command === 'update' ? 'ao update' : 'ao-legacy-import'}; run it again to retry`);
          return EXIT.ok;
        }
      }
    }

    // 2. Where and what the legacy install is.
    let legacy: LegacyInstall = { kind: 'none' };
    if (opts.mode === 'update') {
      const pm = locateLegacy(opts, env, pending?.data.packageManager);
      const version = installedVersion(pm);
      if (!version)
        throw new UserError({
          what: 'cannot find the installed @aoagents/ao',
          why: `nothing in ${pm.globalRoot}`,
          fix: `npm install -g ${PACKAGE_NAME}@${opts.target}, then run ao-legacy-import`,
          code: 'ELEGACY',
        });
      if (version === opts.target) {
        log(`${name}: ${PACKAGE_NAME} is already at ${opts.target}`);
        return EXIT.ok;
      }
      legacy = { kind: 'package', pm, version };
    }
    const legacyVersion = legacy.kind === 'package' ? legacy.version : undefined;
    const roots = legacyRoots(home, aoHome, env);
    const legacyHome = hasLegacyHome(home);
    const backupBytes = await measureRoots(roots);
    printPlan(log, { target: opts.target, legacy, home, aoHome, backupBytes, legacyHome });

    // 3. Guards: no rewrite daemon already running, nothing active (unless --force-migrate), then a person's yes.
    await refuseRunningDaemon(paths, name);
    if (legacyHome) {
      const active = await findActiveSessions({ home, env, tmuxHasSession: opts.tmuxHasSession });
      if (active.length > 0) {
        const list = active
          .slice(0, 5)
          .map((a) => `${a.projectId}/${a.sessionId} (${a.reason})`)
          .join(', ');
        if (!flags.forceMigrate) {
          throw new UserError({
            what: `${active.length} legacy session(s) are still active`,
            why: list,
            fix: `stop them (ao stop) and run \`${name}\` again, or pass --force-migrate to migrate anyway`,
            code: 'EACTIVE',
          });
        }
        log(`${name}: --force-migrate: migrating although ${active.length} session(s) are active: ${list}`);
      }
    }
    if (flags.check) {
      const ok = await dryRunChecks(log, { target: opts.target, env, legacy, aoHome, backupBytes });
      return ok ? EXIT.ok : EXIT.failed;
    }
    if (!flags.yes) await confirm(name, opts.stdin ?? process.stdin, stderr);

    // 4. The journaled steps.
    const journal = await Journal.create(aoHome, { command: opts.mode, target: opts.target }, env);
    releaseSignals = holdSignals();
    await journal.update({ legacyVersion, packageManager: legacy.kind === 'package' ? legacy.pm : undefined });
    try {
      await forward(journal, { ...opts, env, home, aoHome, paths, log, flags, legacy, roots, legacyHome, backupBytes });
    } catch (err) {
      log(formatError(err, name));
      log(`${name}: rolling back`);
      const { notUndone } = await withSignalsDeferred(() => rollback({ journal, paths, env, log }), true).then((r) => r.value);
      await journal.archive();
      if (notUndone.length > 0) {
        log(`${name}: the rollback could not undo everything:`);
        for (const n of notUndone) log(`  - ${n}`);
        log(`  your legacy files are backed up in ${journal.data.backupDir ?? '(no backup was made)'}`);
        return EXIT.notUndone;
      }
      const proof = journal.data.backupDir ? 'your legacy data is unchanged (checked against the backup)' : 'nothing was changed';
      log(`${name}: rolled back${legacyVersion ? `: you are on ${PACKAGE_NAME}@${legacyVersion}` : ''}; ${proof}`);
      return err instanceof Interrupted ? EXIT.interrupted : EXIT.failed;
    }
    return EXIT.ok;
  } catch (err) {
    log(formatError(err, name));
    return err instanceof UserError && err.code === 'EUSAGE' ? EXIT.usage : EXIT.failed;
  } finally {
    releaseSignals?.();
    await lock?.release();
  }
}

/**
 * The legacy install a cutover replaces: `ao update` runs from the 0.9.6 package and replaces it
 * through the package manager that installed it; `ao-legacy-import` runs on the rewrite and replaces none.
 */
type LegacyInstall = { kind: 'package'; pm: PackageManagerInfo; version: string } | { kind: 'none' };

interface ForwardContext extends CutoverOptions {
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

async function forward(journal: Journal, ctx: ForwardContext): Promise<void> {
  const { env, log, legacy } = ctx;
  const total = legacy.kind === 'package' ? 6 : 4;
  let n = 0;
  const title = (text: string) => log(`[${++n}/${total}] ${text}`);

  title('Preflight');
  await journal.step('preflight', async () => {
    const resumeScript = join(ctx.aoHome, 'cutover', 'resume.cjs');
    if (ctx.selfBytes) await writeFileAtomic(resumeScript, ctx.selfBytes, 0o755);
    if (legacy.kind === 'none') return { free: await checkDiskSpace(ctx.aoHome, ctx.backupBytes * 1.1 + 10e6), ao: ctx.ao };
    const target = await lookUpTarget(ctx.target, env);
    checkNode(target);
    await checkWritable(legacy.pm);
    const free = await checkDiskSpace(ctx.aoHome, ctx.backupBytes * 1.1 + 150e6);
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
    else log(`  ${app.status === 'skipped' ? app.reason : `app fetch failed (${app.reason})`}; the CLI works without it; fetch it later with: ${app.later}`);
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
async function commit(journal: Journal, paths: RewritePaths, home: string): Promise<{ record?: string }> {
  const record = importRecordOf(journal, home);
  return record ? { record: await writeImportRecord(paths, record) } : {};
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

async function recover(
  pending: Journal,
  plan: ReturnType<typeof planRecovery>,
  ctx: { paths: RewritePaths; home: string; env: NodeJS.ProcessEnv; log: (l: string) => void },
): Promise<number | undefined> {
  const id = pending.data.id;
  await settleOrphanedChild(pending, ctx.log);
  if (plan === 'finish') {
    // The health check passed before the crash: only the commit is missing.
    await pending.step('commit', () => commit(pending, ctx.paths, ctx.home));
    await pending.update({ status: 'done' });
    await pending.archive();
    ctx.log(`ao update: finished the cutover ${id} that was interrupted after its health check; ao ${pending.data.target} is installed`);
    return EXIT.ok;
  }
  if (plan === 'discard') {
    // Only read and copied: drop the half-made backup and start over.
    if (pending.data.backupDir) await rm(`${pending.data.backupDir}.partial`, { recursive: true, force: true });
    await pending.update({ status: 'rolled-back' });
    await pending.archive();
    ctx.log(`ao update: an interrupted cutover (${id}) had changed nothing; starting again`);
    return undefined;
  }
  ctx.log(`ao update: rolling back the interrupted cutover ${id}`);
  const { notUndone } = await rollback({ journal: pending, paths: ctx.paths, env: ctx.env, log: ctx.log });
  await pending.archive();
  if (notUndone.length > 0) {
    ctx.log('ao update: the rollback could not undo everything:');
    for (const n of notUndone) ctx.log(`  - ${n}`);
    return EXIT.notUndone;
  }
  ctx.log('ao update: rolled back; your legacy data is unchanged (checked against the backup); starting again');
  return undefined;
}

/**
 * A rewrite daemon the user already runs is left alone and the cutover refused: the rewrite's import needs
 * its daemon stopped (the store's only writer), and this cutover stops only a daemon it started itself.
 */
async function refuseRunningDaemon(paths: RewritePaths, name: string): Promise<void> {
  const live = await liveDaemon(paths.runFile);
  if (!live) return;
  throw new UserError({
    what: `an ao daemon is already running (pid ${live.pid}, port ${live.port})`,
    why: `the new ao imports only with its daemon stopped, and ${name} stops only a daemon it started (${paths.runFile})`,
    fix: `quit the desktop app or run \`ao stop\` with the new ao, then run \`${name}\` again`,
    code: 'EDAEMON',
  });
}

function locateLegacy(opts: CutoverOptions, env: NodeJS.ProcessEnv, fromJournal: PackageManagerInfo | undefined): PackageManagerInfo {
  const pkgDir = opts.selfFile ? packageDirOf(opts.selfFile) : undefined;
  const pm = (pkgDir ? detectPackageManager(pkgDir, env) : undefined) ?? fromJournal;
  if (!pm) {
    throw new UserError({
      what: 'cannot tell how ao was installed',
      why: `${pkgDir ?? opts.selfFile ?? 'the running ao'} is not in an npm, pnpm, yarn or bun global folder`,
      fix: `install the new ao yourself (npm install -g ${PACKAGE_NAME}@${opts.target}), then run ao-legacy-import`,
      code: 'EPM',
    });
  }
  return pm;
}

function printPlan(
  log: (l: string) => void,
  p: { target: string; legacy: LegacyInstall; home: string; aoHome: string; backupBytes: number; legacyHome: boolean },
): void {
  const pm = p.legacy.kind === 'package' ? p.legacy.pm : undefined;
  const legacyVersion = p.legacy.kind === 'package' ? p.legacy.version : undefined;
  if (pm) log(`ao update will move ${PACKAGE_NAME} ${legacyVersion} (${pm.name}) to ${p.target}:`);
  else log(`ao-legacy-import will import your legacy ao home into ao ${p.target}:`);
  log(`  - check: Node, free disk space${pm ? `, write access to ${pm.globalRoot}, ${p.target} in the registry` : ''}`);
  log(`  - back up ${join(p.home, '.agent-orchestrator')} and the global config (${(p.backupBytes / 1e6).toFixed(1)} MB) to ${join(p.aoHome, 'backups')}/`);
  if (pm) {
    const [cmd, args] = installArgs(pm.name, `${PACKAGE_NAME}@${p.target}`);
    log(`  - install: ${cmd} ${args.join(' ')}`);
    log('  - fetch the desktop app');
  }
  log(
    p.legacyHome
      ? `  - import: your projects into the new ao; every session with its agent resume ids kept in ${join(p.aoHome, 'legacy', 'bundle.json')}, and imported too if the new ao can take sessions`
      : '  - import: nothing (no legacy home found)',
  );
  log('  - start the new daemon, check it is healthy and holds your projects, then stop it again');
  log(`  Your legacy data is only read. On any failure you are put back${legacyVersion ? ` on ${legacyVersion}` : ''} as you were.`);
}

async function dryRunChecks(
  log: (l: string) => void,
  p: { target: string; env: NodeJS.ProcessEnv; legacy: LegacyInstall; aoHome: string; backupBytes: number },
): Promise<boolean> {
  const checks: Array<[string, () => Promise<unknown>]> = [['free disk space', () => checkDiskSpace(p.aoHome, p.backupBytes * 1.1 + 150e6)]];
  if (p.legacy.kind === 'package') {
    const { pm } = p.legacy;
    checks.unshift(
      ['registry and Node', async () => checkNode(await lookUpTarget(p.target, p.env, { readOnly: true }))],
      ['write access', () => checkWritable(pm)],
    );
  }
  let ok = true;
  for (const [label, check] of checks) {
    try {
      await check();
      log(`  ok: ${label}`);
    } catch (err) {
      ok = false;
      log(formatError(err, `  not ok: ${label}`));
    }
  }
  log(ok ? 'check only: nothing was changed' : 'check only: nothing was changed; fix the above before updating');
  return ok;
}

async function confirm(name: string, stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stderr: NodeJS.WritableStream & { isTTY?: boolean }): Promise<void> {
  if (!stdin.isTTY || !stderr.isTTY) {
    throw new UserError({
      what: `${name} needs a confirmation`,
      why: 'there is no terminal to ask on',
      fix: `run \`${name} --yes\` to go ahead, or \`${name} --check\` to see the plan`,
      code: 'ECONFIRM',
    });
  }
  const rl = createInterface({ input: stdin, output: stderr });
  const answer = await rl.question('Go ahead? [y/N] ');
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim()))
    throw new UserError({ what: `${name} cancelled`, why: 'you did not confirm', fix: `run \`${name}\` again when ready`, code: 'ECANCELLED' });
}
