import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDir, utf8Path } from '../../common/home.js';
import { formatError, UserError } from '../../common/errors.js';
import { acquireLock, type Lock } from '../../common/lock.js';
import { legacyRoots } from './backup/manifest.js';
import { measureRoots } from './backup/walk.js';
import { settleOrphanedChild } from './children.js';
import { commit, forward } from './forward.js';
import { holdSignals, Interrupted, Journal, planRecovery, withSignalsDeferred } from './journal.js';
import { findActiveSessions } from './legacy/activity.js';
import { hasLegacyHome } from './legacy/export.js';
import { locateLegacy, type LegacyInstall } from './legacy-install.js';
import { EXIT, parseFlags, type CutoverOptions } from './options.js';
import { installedVersion, PACKAGE_NAME } from './package-manager.js';
import { confirm, dryRunChecks, printPlan } from './plan.js';
import { rollback } from './rollback.js';
import { liveDaemon, rewritePaths, type RewritePaths } from './rewrite.js';

/**
 * `ao update` on the 0.9.6 bridge (mode "update") and `ao-legacy-import` on the
 * rewrite (mode "legacy-import", no package install): preflight, backup,
 * install, app, import, health, each a journal step; any failure from the
 * install on is rolled back. Legacy data is only ever read.
 */
const commandName = (mode: CutoverOptions['mode']) => (mode === 'update' ? 'ao update' : 'ao-legacy-import');

export async function runCutover(opts: CutoverOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const stderr = opts.stderr ?? process.stderr;
  const log = (line: string) => stderr.write(`${line}\n`);
  const name = commandName(opts.mode);
  let lock: Lock | undefined;
  let releaseSignals: (() => void) | undefined;
  try {
    // Refused when its name is not UTF-8 (Node would read another folder): no legacy home found there, nothing imported, exit 0.
    const home = utf8Path(homeDir(env));
    const paths = rewritePaths(home, env);
    const aoHome = paths.aoHome;
    const flags = parseFlags(opts.argv, name);
    if (!flags.check) lock = await acquireLock(join(aoHome, 'cutover', 'update.lock'), { purpose: name });

    // 1. A journal a crash left behind is finished or rolled back first.
    const pending = await Journal.load(aoHome, env);
    const recovery = planRecovery(pending?.data);
    if (pending && recovery !== 'none') {
      if (flags.check) log(`${name}: an interrupted cutover (${pending.data.id}) will be ${recovery === 'finish' ? 'finished' : 'rolled back'} first`);
      else {
        const done = await recover(pending, recovery, { paths, home, env, log, mode: opts.mode });
        if (done !== undefined) return done;
        // A cutover of the other kind (ao update found by ao-legacy-import, or the reverse) is
        // only recovered here; starting the other flow on top of it would mix the two.
        if (pending.data.command !== opts.mode) {
          // Not done what was asked: a script reading the exit code must not take this for success.
          log(`${name}: recovered the interrupted ${commandName(pending.data.command)}; nothing of this run was done: run ${name} again`);
          return EXIT.failed;
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
    const roots = legacyRoots(home, paths, env);
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
async function recover(
  pending: Journal,
  plan: ReturnType<typeof planRecovery>,
  ctx: { paths: RewritePaths; home: string; env: NodeJS.ProcessEnv; log: (l: string) => void; mode: CutoverOptions['mode'] },
): Promise<number | undefined> {
  const id = pending.data.id;
  // Each line names the command speaking and whose cutover it was (ao-legacy-import may recover an ao update's).
  const name = commandName(ctx.mode);
  const what = `${commandName(pending.data.command)} cutover ${id}`;
  const again = pending.data.command === ctx.mode ? '; starting again' : '';
  await settleOrphanedChild(pending, ctx.log);
  if (plan === 'finish') {
    // The health check passed before the crash: only the commit is missing.
    await pending.step('commit', () => commit(pending, ctx.paths, ctx.home));
    await pending.update({ status: 'done' });
    await pending.archive();
    ctx.log(`${name}: finished the ${what}, interrupted after its health check; ao ${pending.data.target} is installed`);
    return EXIT.ok;
  }
  if (plan === 'discard') {
    // Only read and copied: drop the half-made backup and start over.
    if (pending.data.backupDir) await rm(`${pending.data.backupDir}.partial`, { recursive: true, force: true });
    await pending.update({ status: 'rolled-back' });
    await pending.archive();
    ctx.log(`${name}: the interrupted ${what} had changed nothing${again}`);
    return undefined;
  }
  ctx.log(`${name}: rolling back the interrupted ${what}`);
  const { notUndone } = await rollback({ journal: pending, paths: ctx.paths, env: ctx.env, log: ctx.log });
  await pending.archive();
  if (notUndone.length > 0) {
    ctx.log(`${name}: the rollback could not undo everything:`);
    for (const n of notUndone) ctx.log(`  - ${n}`);
    return EXIT.notUndone;
  }
  ctx.log(`${name}: rolled back; your legacy data is unchanged (checked against the backup)${again}`);
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
