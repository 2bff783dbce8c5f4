import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { UserError } from '../../../../common/errors.js';
import type { BundleSession, LegacyBundle } from '../bundle.js';
import { quotePathFor } from '../../../../common/shell-quote.js';
import { agentName, cdCommand, chooseCommand, commandLine, resumeCommands, type ResumeCommand } from './agents.js';
import { worktreeExists } from './sessions.js';

/** `project/id`, or a bare id when only one project has it. */
export function findSession(bundle: LegacyBundle, ref: string): BundleSession {
  const slash = ref.lastIndexOf('/');
  const matches = slash > 0 ? bundle.sessions.filter((s) => `${s.projectId}/${s.id}` === ref) : bundle.sessions.filter((s) => s.id === ref);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new UserError({
      what: `${matches.length} legacy sessions are called ${ref}`,
      why: `in projects ${matches.map((s) => s.projectId).join(', ')}`,
      fix: `name one with its project: ao-legacy-import resume ${matches[0]!.projectId}/${ref}`,
      code: 'EAMBIGUOUS',
    });
  }
  throw new UserError({
    what: `no legacy session ${ref}`,
    why: `the ${bundle.sessions.length} legacy sessions do not include it`,
    fix: 'list them with: ao-legacy-import sessions',
    code: 'ENOSESSION',
  });
}

export interface ResumePlan {
  command: ResumeCommand;
  /** The worktree; the agents keep their conversations per directory, so it runs there. */
  cwd?: string;
  /** Set when the worktree is gone: printing still gives the command, running refuses with this. */
  missingWorktree?: UserError;
}

/** The one command to resume `s` (its own agent's, or the one `agent` names), or a UserError saying why there is none. */
export function planResume(bundle: LegacyBundle, s: BundleSession, agent?: string): ResumePlan {
  const key = `${s.projectId}/${s.id}`;
  const { command, alternatives } = chooseCommand(bundle, s, agent);
  if (alternatives.length === 0) {
    const any = resumeCommands(s);
    const why = agent && any.length > 0 ? `it has a resume id for ${any.map((c) => c.agent).join(', ')} only` : (s.resumeMissing ?? 'no resume id was found');
    const where = s.worktree ? cdCommand(s.worktree) : `open the project${s.branch ? ` on branch ${s.branch}` : ''}`;
    throw new UserError({
      what: `${key} has no ${agent ? `${agentName(agent)} ` : ''}resume id`,
      why,
      fix: `its work is in its worktree and branch, not in a conversation to resume: ${where} and start ${agentName(s.agent) ?? 'your agent'} there`,
      code: 'ENORESUMEID',
    });
  }
  if (!command) {
    throw new UserError({
      what: `${key} has resume ids for ${alternatives.map((c) => c.agent).join(' and ')}`,
      why: 'no agent was recorded for it or configured for its project, so both were found',
      fix: `pick one: ao-legacy-import resume ${key} --agent ${alternatives[0]!.agent}`,
      code: 'EAMBIGUOUS',
    });
  }
  return { command, cwd: s.worktree, missingWorktree: worktreeExists(s.worktree) ? undefined : missingWorktree(bundle, s) };
}

/** Why the session cannot be started where it belongs, and the git command that brings its worktree back. */
function missingWorktree(bundle: LegacyBundle, s: BundleSession): UserError {
  const key = `${s.projectId}/${s.id}`;
  const project = bundle.projects.find((p) => p.id === s.projectId);
  const quote = (word: string) => quotePathFor(process.platform, word);
  const add =
    s.worktree && s.branch ? `git ${project?.path ? `-C ${quote(project.path)} ` : ''}worktree add ${quote(s.worktree)} ${quote(s.branch)}` : undefined;
  const fix = add
    ? `recreate it${project?.path ? '' : ` from inside the ${s.projectId} repository`}: ${add}, then run this again`
    : 'recreate the worktree from its branch, then run this again';
  return new UserError({
    what: `the worktree of ${key} is missing`,
    why: s.worktree ? `${s.worktree} does not exist` : 'no worktree was recorded',
    fix,
    code: 'ENOWORKTREE',
  });
}

export function printResume(plan: ResumePlan): string {
  return commandLine(plan.command, plan.cwd);
}

/**
 * Runs the agent in the worktree: no shell (the ids go in as arguments), the terminal handed over, the agent's exit
 * code returned (128+n when a signal ended it). A CLI not on PATH is a UserError naming how to install it.
 */
export function runResume(plan: ResumePlan, env: NodeJS.ProcessEnv): Promise<number> {
  if (plan.missingWorktree) return Promise.reject(plan.missingWorktree);
  const { command, cwd } = plan;
  return new Promise((resolve, reject) => {
    // Windows: npm installs these CLIs as .cmd shims, which Node runs only through a shell; the arguments are
    // resume ids and model names, checked to hold nothing a shell would read.
    const viaShell = process.platform === 'win32' && command.args.every((a) => /^[\w.:@/-]+$/.test(a));
    const child = spawn(command.cli, command.args, { cwd, env, stdio: 'inherit', shell: viaShell });
    // Ctrl-C reaches the agent through the terminal; this process waits for it instead of dying first.
    const ignore = () => undefined;
    for (const sig of ['SIGINT', 'SIGQUIT'] as const) process.on(sig, ignore);
    const done = () => {
      for (const sig of ['SIGINT', 'SIGQUIT'] as const) process.off(sig, ignore);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === 'ENOENT') {
        reject(
          new UserError({
            what: `${command.cli} is not installed (not found on PATH)`,
            why: `resuming a ${command.agent} session needs the ${command.agent} CLI`,
            fix: `install it (${command.install}), then run: ${commandLine(command, cwd)}`,
            code: 'ENOAGENTCLI',
          }),
        );
      } else
        reject(
          new UserError({ what: `cannot run ${command.cli}`, why: err.message, fix: `run it yourself: ${commandLine(command, cwd)}`, code: 'EAGENTSPAWN' }),
        );
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + ((signal && (osConstants.signals as Record<string, number>)[signal]) || 1));
    });
  });
}
