/**
 * An error meant for a person: what failed, why, and what to run next.
 * Every part throws these for expected failures; anything else is a bug and
 * keeps its stack trace.
 */
export class UserError extends Error {
  readonly what: string;
  readonly why: string;
  readonly fix: string | undefined;
  readonly code: string;

  constructor(opts: { what: string; why: string; fix?: string; code?: string; cause?: unknown }) {
    super(`${opts.what}: ${opts.why}`, { cause: opts.cause });
    this.name = 'UserError';
    this.what = opts.what;
    this.why = opts.why;
    this.fix = opts.fix;
    this.code = opts.code ?? 'EUSER';
  }
}

export function isUserError(err: unknown): err is UserError {
  // By name too: each shipped file bundles its own copy of this class (the postinstall meets the fetch's errors).
  return err instanceof UserError || (err instanceof Error && err.name === 'UserError' && 'what' in err && 'code' in err);
}

/** Three lines at most: what failed, why, what to run. */
export function formatError(err: unknown, prefix = 'ao'): string {
  if (isUserError(err)) {
    const lines = [`${prefix}: ${err.what}`, `  why: ${err.why}`];
    if (err.fix) lines.push(`  fix: ${err.fix}`);
    return lines.join('\n');
  }
  const e = err as Error;
  return `${prefix}: unexpected error: ${e?.stack ?? String(err)}`;
}
