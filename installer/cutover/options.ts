import { UserError } from '../../common/errors.js';
import type { AppFetcher } from './steps/app.js';

/** What a cutover is run with (`runCutover`), the flags it takes, and the exit codes it returns. */
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

export interface Flags {
  check: boolean;
  yes: boolean;
  forceMigrate: boolean;
  readyTimeoutMs: number;
}

const usage = (command: string) => `usage: ${command} [--check|--dry-run] [--yes] [--force-migrate] [--ready-timeout <seconds>]`;

/** `command`: the name the user typed (`ao update`, `ao-legacy-import`), for the messages. */
export function parseFlags(argv: string[], command: string): Flags {
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
        throw new UserError({
          what: `invalid --ready-timeout ${JSON.stringify(value)}`,
          why: 'it takes a number of seconds',
          fix: usage(command),
          code: 'EUSAGE',
        });
      flags.readyTimeoutMs = seconds * 1000;
    } else throw new UserError({ what: `unknown option ${a}`, why: `${command} does not take it`, fix: usage(command), code: 'EUSAGE' });
  }
  return flags;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, notUndone: 3, interrupted: 130 } as const;
