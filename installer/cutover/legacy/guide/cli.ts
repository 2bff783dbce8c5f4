import { formatError, UserError } from '../../../../common/errors.js';
import { findSession, planResume, printResume, runResume } from './resume-session.js';
import { formatSessions, sessionsReport } from './sessions.js';
import { loadLegacySessions } from './source.js';

/**
 * `ao-legacy-import sessions` and `ao-legacy-import resume`: the legacy sessions and the command that resumes each
 * agent's conversation, for as long as the rewrite cannot take them. Read only: nothing is written anywhere.
 */
export interface GuideIO {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const SESSIONS_USAGE = 'usage: ao-legacy-import sessions [--project ID] [--agent claude-code|codex|opencode|aider|cursor] [--json] [--from-legacy-home]';
export const RESUME_USAGE = 'usage: ao-legacy-import resume <project>/<session> [--agent claude-code|codex|opencode] [--run] [--from-legacy-home]';

interface Parsed {
  positional: string[];
  values: Record<string, string>;
  flags: Set<string>;
}

function parse(argv: string[], valued: string[], booleans: string[], usage: string): Parsed {
  const out: Parsed = { positional: [], values: {}, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [name, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (valued.includes(name)) {
      const v = inline ?? argv[++i];
      if (!v) throw new UserError({ what: `${name} needs a value`, why: 'none was given', fix: usage, code: 'EUSAGE' });
      out.values[name] = v;
    } else if (booleans.includes(a)) out.flags.add(a);
    else if (a.startsWith('-')) throw new UserError({ what: `unknown option ${a}`, why: 'this command does not take it', fix: usage, code: 'EUSAGE' });
    else out.positional.push(a);
  }
  return out;
}

async function guarded(io: GuideIO, name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    io.stderr.write(formatError(err, name) + '\n');
    return err instanceof UserError && err.code === 'EUSAGE' ? 2 : 1;
  }
}

export function runSessionsCommand(argv: string[], io: GuideIO): Promise<number> {
  return guarded(io, 'ao-legacy-import sessions', async () => {
    const p = parse(argv, ['--project', '--agent'], ['--json', '--from-legacy-home'], SESSIONS_USAGE);
    if (p.positional.length > 0)
      throw new UserError({ what: `unexpected argument ${p.positional[0]}`, why: 'sessions takes options only', fix: SESSIONS_USAGE, code: 'EUSAGE' });
    const { bundle, origin } = await loadLegacySessions(io.env, { fromLegacyHome: p.flags.has('--from-legacy-home') });
    const report = sessionsReport(bundle, origin, { project: p.values['--project'], agent: p.values['--agent'] });
    if (p.flags.has('--json')) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      io.stderr.write(`legacy sessions from ${origin.path}\n`);
      io.stdout.write(formatSessions(report));
    }
    return 0;
  });
}

export function runResumeCommand(argv: string[], io: GuideIO): Promise<number> {
  return guarded(io, 'ao-legacy-import resume', async () => {
    const p = parse(argv, ['--agent'], ['--run', '--from-legacy-home'], RESUME_USAGE);
    if (p.positional.length !== 1)
      throw new UserError({
        what: p.positional.length ? 'resume takes one session' : 'which session?',
        why: p.positional.length ? `got ${p.positional.join(' ')}` : 'no session was named',
        fix: `${RESUME_USAGE}; list them with: ao-legacy-import sessions`,
        code: 'EUSAGE',
      });
    const { bundle } = await loadLegacySessions(io.env, { fromLegacyHome: p.flags.has('--from-legacy-home') });
    const plan = planResume(bundle, findSession(bundle, p.positional[0]!), p.values['--agent']);
    if (!p.flags.has('--run')) {
      // The command still names the conversation; where it must run is gone, so say how to bring it back.
      if (plan.missingWorktree) io.stderr.write(formatError(plan.missingWorktree, 'ao-legacy-import resume: warning') + '\n');
      io.stdout.write(printResume(plan) + '\n');
      return 0;
    }
    if (!plan.missingWorktree) io.stderr.write(`resuming in ${plan.cwd}: ${printResume(plan)}\n`);
    return runResume(plan, io.env);
  });
}
