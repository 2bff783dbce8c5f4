import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isUserError } from '../../../common/errors.js';
import { createProgress, type Progress } from '../../../common/progress.js';
import { redactSecrets } from '../../../common/redact.js';
import { aoStateDir } from '../../app/app-state.js';
import { defaultRoot, installApp } from '../../app/install.js';
import { interruptSignal, type PackageManagerInfo } from '../journal.js';
import { PACKAGE_NAME } from '../package-manager.js';

/**
 * The desktop app step, using installer/app's fetcher with the app manifest
 * pinned inside the just-installed package. A failure here never undoes the
 * CLI: it is recorded and the user is told the command that fetches it later.
 */
export type AppFetcher = (opts: { home: string; env: NodeJS.ProcessEnv; log: (line: string) => void }) => Promise<{ path: string } | { skipped: string }>;

export interface AppOutcome {
  status: 'fetched' | 'skipped' | 'failed';
  path?: string;
  reason?: string;
  later?: string;
}

export const FETCH_APP_LATER = 'ao-app install';

/** Fetches the app described by the installed package's `ao-manifest.json` (field `app`). */
export function installedPackageAppFetcher(pm: PackageManagerInfo): AppFetcher {
  return async ({ env, log }) => {
    const manifestFile = join(pm.globalRoot, ...PACKAGE_NAME.split('/'), 'ao-manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { app?: unknown };
    if (manifest.app === undefined) return { skipped: 'app fetch skipped: this release ships no desktop app' };
    // `sudo ao update` (a distro's Node needs root for global installs): the app is per user, and one fetched into root's
    // home is never opened by the user's own ao start, which reads their ~/.ao.
    if (process.getuid?.() === 0 && env.SUDO_UID && env.SUDO_UID !== '0')
      return {
        skipped: `app fetch skipped: ao update runs as root through sudo, and the desktop app installs per user: run ao-app install as ${env.SUDO_USER || `uid ${env.SUDO_UID}`}, without sudo`,
      };
    const root = defaultRoot(env);
    // A Ctrl-C during the download stops it now, not after the whole app (tens of minutes on a slow network) arrived to be rolled back.
    const interrupt = interruptSignal();
    try {
      // The marker the rewrite's own `ao start` reads, so it opens this verified app instead of downloading one.
      const result = await installApp({ manifest: manifest.app, root, stateDir: aoStateDir(env), progress: progressInLog(log), signal: interrupt.signal });
      return { path: result.path };
    } catch (err) {
      // No app for this platform in this release (the real one has none for linux-arm64 or win32-arm64): nothing failed.
      if (isUserError(err) && err.code === 'EAPPTARGET') return { skipped: `app fetch skipped: ${err.what}` };
      throw err;
    } finally {
      interrupt.dispose();
    }
  };
}

/**
 * The download's progress (a line every 10%) and its waits, as lines of the cutover's log: 182 MB take tens of minutes on
 * a slow network, and a step silent that long looks hung. A URL in a wait may carry a mirror's token: redacted.
 */
function progressInLog(log: (line: string) => void): Progress {
  return createProgress('desktop app', {
    mode: 'plain',
    stream: {
      write: (text: string) => {
        for (const line of text.split('\n')) if (line) log(`  ${redactSecrets(line)}`);
      },
    },
  });
}

export async function fetchAppStep(fetcher: AppFetcher | undefined, opts: Parameters<AppFetcher>[0]): Promise<AppOutcome> {
  if (!fetcher) return { status: 'skipped', reason: 'app fetch skipped: no app fetcher in this build', later: FETCH_APP_LATER };
  try {
    const got = await fetcher(opts);
    // A release without an app here gives ao-app nothing to fetch later either.
    return 'path' in got ? { status: 'fetched', path: got.path } : { status: 'skipped', reason: got.skipped };
  } catch (err) {
    // The reason is printed and kept in the journal: a download URL in it may carry a password or a token.
    return { status: 'failed', reason: redactSecrets((err as Error).message), later: FETCH_APP_LATER };
  }
}
