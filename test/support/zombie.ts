import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Runs `script` (Python, which never waits for a child it forked unless told to) and returns it with the line it
 * printed first. Linux: a child the script forks and lets exit stays a zombie (state Z) until the script is killed.
 */
export async function neverReaping(script: string[]): Promise<{ parent: ChildProcess; printed: string }> {
  const parent = spawn('python3', ['-c', script.join('\n')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const printed = await new Promise<string>((resolve) => parent.stdout!.once('data', (d) => resolve(String(d).trim())));
  return { parent, printed };
}

/** Resolves once `pid` has exited and nobody reaped it (its state in /proc is Z). */
export async function untilZombie(pid: number): Promise<void> {
  const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
  for (let i = 0; state() !== 'Z'; i++) {
    if (i > 400) throw new Error(`pid ${pid} never became a zombie`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
