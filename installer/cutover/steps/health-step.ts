import { UserError } from '../../../common/errors.js';
import { packageDirOf } from '../package-manager.js';
import { unstampedOverride } from './install.js';
import type { Journal } from '../journal.js';
import { rewriteVersion, type RewritePaths } from '../rewrite.js';
import { freePort } from '../../../common/free-port.js';
import { daemonLog, startDaemon, stopStartedDaemon, waitHealthy } from './health.js';
import type { ImportOutcome } from './import.js';
import { reconcile } from './reconcile.js';

/**
 * The health step: the version the new ao reports (`ao version`), then its daemon started by us, healthy
 * and ready under the deadline, then what it holds reconciled against the legacy bundle, then stopped
 * again (the desktop app runs the daemon from here on; the cutover leaves no process behind).
 */
export interface HealthDetail {
  version: string;
  /** The binary was released unstamped and its package records that override (`ao-manifest.json` `override.allowUnstamped`). */
  unstamped: boolean;
  pid: number;
  port: number;
  log: string;
  projectsInRewrite: number;
  sessionsInRewrite: number;
  declined: Array<{ id: string; note: string }>;
}

export async function healthStep(opts: {
  journal: Journal;
  ao: string;
  target: string;
  paths: RewritePaths;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  imported: ImportOutcome | undefined;
}): Promise<HealthDetail> {
  const { journal } = opts;
  const version = await rewriteVersion(opts.ao, opts.env);
  const pkgDir = packageDirOf(opts.ao);
  const unstamped = version !== opts.target && pkgDir !== undefined && unstampedOverride(pkgDir) === version;
  if (version !== opts.target && !unstamped) {
    throw new UserError({
      what: 'the new ao is not the version just installed',
      why: `\`ao version\` says ${version}, expected ${opts.target}`,
      fix: 'run the update again; if it repeats, reinstall with npm install -g @aoagents/ao@' + opts.target,
      code: 'EHEALTH',
    });
  }
  // The port is on disk before the spawn: a crash in between still leaves the recovery a way to find the daemon.
  const port = await freePort();
  await journal.update({ daemon: { spawnedPid: 0, port, log: daemonLog(opts.paths, journal.data.id), spawnedAt: new Date().toISOString() } });
  const daemon = await startDaemon({ ao: opts.ao, paths: opts.paths, env: opts.env, id: journal.data.id, port });
  await journal.update({ daemon });
  let failure: unknown;
  try {
    const { pid, port } = await waitHealthy({
      daemon,
      paths: opts.paths,
      timeoutMs: opts.timeoutMs,
      onPid: async (pid) => journal.update({ daemon: { ...daemon, pid } }),
    });
    const held = opts.imported
      ? await reconcile({ ao: opts.ao, env: opts.env, imported: opts.imported })
      : { projectsInRewrite: 0, sessionsInRewrite: 0, declined: [] };
    return { version, unstamped, pid, port, log: daemon.log, ...held };
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    // Stopped on success as on failure; a failure to stop is the step's failure unless another came first.
    await stopStartedDaemon({ ao: opts.ao, daemon: journal.data.daemon, paths: opts.paths, env: opts.env }).catch((err: unknown) => {
      if (!failure) throw err;
    });
  }
}
