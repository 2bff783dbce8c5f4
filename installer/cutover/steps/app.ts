/**
 * The desktop app step. The fetcher lives in installer/app/ and is plugged in
 * by the entry point; a failure here never undoes the CLI: it is recorded and
 * the user is told the command that fetches the app later.
 */
export type AppFetcher = (opts: { home: string; env: NodeJS.ProcessEnv; log: (line: string) => void }) => Promise<{ path: string }>;

export interface AppOutcome {
  status: 'fetched' | 'skipped' | 'failed';
  path?: string;
  reason?: string;
  later?: string;
}

export const FETCH_APP_LATER = 'ao app install';

export async function fetchAppStep(fetcher: AppFetcher | undefined, opts: Parameters<AppFetcher>[0]): Promise<AppOutcome> {
  if (!fetcher) return { status: 'skipped', reason: 'app fetch skipped: this build carries no app fetcher', later: FETCH_APP_LATER };
  try {
    const { path } = await fetcher(opts);
    return { status: 'fetched', path };
  } catch (err) {
    return { status: 'failed', reason: (err as Error).message, later: FETCH_APP_LATER };
  }
}
