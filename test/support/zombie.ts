import { type ChildProcess, spawn } from 'node:child_process';
import { processEnded } from '../../common/process-identity.js';

/**
 * Runs `script` (Python, which never waits for a child it forked unless told to) and returns it with the line it
 * printed first. Linux: a child the script forks and lets exit stays a zombie (state Z) until the script is killed.
 * The tests that use it need python3 (Debian's, on every machine of this kind).
 */
export async function neverReaping(script: string[]): Promise<{ parent: ChildProcess; printed: string }> {
  const parent = spawn('python3', ['-c', script.join('\n')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const printed = await new Promise<string>((resolve, reject) => {
    parent.once('error', reject);
    parent.once('exit', (code) => reject(new Error(`python3 exited (${code}) before printing anything`)));
    parent.stdout!.once('data', (d) => resolve(String(d).trim()));
  });
  return { parent, printed };
}

/** Resolves once `pid` has exited and nobody reaped it (its state in /proc is Z). */
export async function untilZombie(pid: number): Promise<void> {
  for (let i = 0; !processEnded(pid); i++) {
    if (i > 400) throw new Error(`pid ${pid} never became a zombie`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A process group whose leader has exited unreaped (a zombie) while a process it started (`sleep 60`) runs on in the
 * group: npm killed while a script it started writes on, in a container whose PID 1 reaps nothing.
 */
export async function zombieLedGroup(): Promise<{ parent: ChildProcess; leader: number; member: number }> {
  const { parent, printed } = await neverReaping([
    'import os, subprocess, time',
    'r, w = os.pipe()',
    'if os.fork() == 0:',
    '    os.setsid()',
    "    g = subprocess.Popen(['sleep', '60'])",
    "    os.write(w, f'{os.getpid()} {g.pid}'.encode())",
    '    os._exit(0)',
    'print(os.read(r, 100).decode(), flush=True)',
    'time.sleep(60)',
  ]);
  const [leader, member] = printed.split(' ').map(Number) as [number, number];
  await untilZombie(leader);
  return { parent, leader, member };
}
