import { spawn } from 'node:child_process';
import { windowsSpawnPlan } from '../../common/windows-command.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and captures its output. Never throws for a
 * non-zero exit: the caller decides what a failure means for its step.
 */
export function runCommand(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const env = options.env ?? process.env;
    // npm, pnpm, yarn and ao are .cmd shims on Windows and bin/ao is a node script: never `shell: true`, which joins arguments unquoted.
    const plan = process.platform === 'win32' ? windowsSpawnPlan(cmd, args, env) : { file: cmd, args };
    const child = spawn(plan.file, plan.args, {
      env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsVerbatimArguments: plan.windowsVerbatimArguments,
      // Its own process group: a Ctrl-C at the terminal reaches only the cutover, which
      // holds it until the step (say, npm install) has finished, instead of killing npm mid-install.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}(killed by ${signal})` : stderr });
    });
  });
}
