import type { BundleSession, LegacyBundle } from '../bundle.js';
import { isObject } from '../../../../common/is-object.js';
import { quotePathFor } from '../../../../common/shell-quote.js';

/**
 * How each agent resumes a conversation by id, as the agent documents it:
 * - Claude Code: `claude --resume <session-id>` (CLI reference, code.claude.com/docs/en/cli-reference: "-r, --resume
 *   Resume a specific session by ID"). Claude keeps sessions per working directory, so it runs in the worktree.
 * - Codex CLI: `codex resume <SESSION_ID>` with the model as `--model` (openai/codex, codex-rs/cli/src/main.rs:
 *   `Resume(ResumeCommand)`, whose `config_overrides: TuiCli` carries `-m, --model`; Codex itself prints
 *   "To continue this session, run codex resume <id>" on exit).
 * - opencode: `opencode --session <id>` (opencode.ai/docs/cli: "--session, -s: Session ID to continue").
 * aider and cursor keep no conversation id: there is nothing to resume by, and nothing is made up.
 */
export type ResumableAgent = 'claude-code' | 'codex' | 'opencode';

export interface ResumeCommand {
  agent: ResumableAgent;
  /** The executable, looked up on PATH. */
  cli: string;
  args: string[];
  /** How to get the CLI when it is missing. */
  install: string;
}

const INSTALL: Record<ResumableAgent, string> = {
  'claude-code': 'npm install -g @anthropic-ai/claude-code',
  codex: 'npm install -g @openai/codex',
  opencode: 'npm install -g opencode-ai',
};

/** `claude` was an alias the legacy CLI accepted for `claude-code`. */
export function agentName(agent: string | undefined): string | undefined {
  return agent === 'claude' ? 'claude-code' : agent;
}

/** Every command that resumes this session, one per resume id it has (a session with no agent recorded may have two). */
export function resumeCommands(s: BundleSession): ResumeCommand[] {
  const out: ResumeCommand[] = [];
  const { claudeSessionUuid, codexThreadId, codexModel, opencodeSessionId } = s.resume;
  if (claudeSessionUuid) out.push({ agent: 'claude-code', cli: 'claude', args: ['--resume', claudeSessionUuid], install: INSTALL['claude-code'] });
  if (codexThreadId)
    out.push({ agent: 'codex', cli: 'codex', args: ['resume', codexThreadId, ...(codexModel ? ['--model', codexModel] : [])], install: INSTALL.codex });
  if (opencodeSessionId) out.push({ agent: 'opencode', cli: 'opencode', args: ['--session', opencodeSessionId], install: INSTALL.opencode });
  return out;
}

/** The agent the legacy CLI started for a session that recorded none: its project's `agent`, else the config's `defaults.agent`. */
export function configuredAgent(bundle: LegacyBundle, s: BundleSession): string | undefined {
  const project = bundle.projects.find((p) => p.id === s.projectId);
  const own = project?.config?.agent ?? project?.localConfig?.data.agent;
  if (typeof own === 'string') return own;
  const defaults = bundle.config?.data.defaults;
  return isObject(defaults) && typeof defaults.agent === 'string' ? defaults.agent : undefined;
}

/**
 * The command that resumes `s`: the only one, or the one of its agent (recorded, asked for with `agent`, else
 * configured). `command` is undefined when ids for two agents leave it open; `alternatives` holds them all.
 */
export function chooseCommand(bundle: LegacyBundle, s: BundleSession, agent?: string): { command?: ResumeCommand; alternatives: ResumeCommand[] } {
  const all = resumeCommands(s);
  const alternatives = agent ? all.filter((c) => c.agent === agentName(agent)) : all;
  if (alternatives.length <= 1) return { command: alternatives[0], alternatives };
  const want = agentName(s.agent ?? configuredAgent(bundle, s));
  const preferred = alternatives.filter((c) => c.agent === want);
  return { command: preferred.length === 1 ? preferred[0] : undefined, alternatives };
}

/** The line a user pastes into `platform`'s shell: cmd.exe reads no single quotes. */
export function commandLine(cmd: ResumeCommand, cwd?: string, platform: string = process.platform): string {
  const line = [cmd.cli, ...cmd.args].map((word) => quotePathFor(platform, word)).join(' ');
  return cwd ? `${cdCommand(cwd, platform)} && ${line}` : line;
}

/** `cd` into `dir`: cmd.exe's cd keeps the current drive without /d (it changes only that drive's folder). */
export function cdCommand(dir: string, platform: string = process.platform): string {
  return `cd ${platform === 'win32' ? '/d ' : ''}${quotePathFor(platform, dir)}`;
}
