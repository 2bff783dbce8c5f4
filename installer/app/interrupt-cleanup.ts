import { rmSync } from 'node:fs';

/**
 * What an install would leave behind if a Ctrl-C (SIGINT) or SIGTERM ended it now: the unpacked copy in
 * `versions/.staging-*` (the whole app, 254 MB for the real one), which otherwise stayed, hidden, until the next install
 * or remove. The verified download is kept on purpose (the next run unpacks it without fetching again).
 */
const pending = new Set<string>();

/** Deletes `folder` if the command is interrupted before the returned function is called. */
export function removeIfInterrupted(folder: string): () => void {
  pending.add(folder);
  return () => pending.delete(folder);
}

/**
 * The command's SIGINT and SIGTERM: delete what is pending, then end by that same signal, as without a handler (exit 130
 * or 143 to the shell). Library callers (the cutover) stop an install with their own AbortSignal instead.
 */
export function cleanUpWhenInterrupted(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const folder of pending) {
        try {
          // Files the unpack is still writing on libuv's threads may land meanwhile: a few tries.
          rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
        } catch {
          // Left for the next install or remove, which sweep every staging folder.
        }
      }
      process.kill(process.pid, signal);
    });
  }
}
