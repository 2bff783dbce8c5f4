import { readFileSync } from 'node:fs';
import { UserError } from './errors.js';

/** What a file is to the person reading the error, the command that fixes it, and the error code. */
export interface JsonFileRole {
  /** "the app manifest", "the release policy", ... */
  what: string;
  fix: string;
  /** One code for both failures; without it, ENOFILE for an unreadable file and EBADJSON for bad JSON. */
  code?: string;
}

/**
 * Reads a JSON file, or throws one UserError that says which file, whether it was missing,
 * unreadable or not JSON, and what to run. Node built-ins only: this ships inside @aoagents/ao.
 */
export function readJsonFile(path: string, role: JsonFileRole): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new UserError({ what: `cannot read ${role.what} ${path}`, why, fix: role.fix, code: role.code ?? 'ENOFILE', cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new UserError({
      what: `cannot read ${role.what} ${path}`,
      why: `it is not JSON (${(cause as Error).message})`,
      fix: role.fix,
      code: role.code ?? 'EBADJSON',
      cause,
    });
  }
}
