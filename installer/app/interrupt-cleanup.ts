import { rmSync } from 'node:fs';

/**
 * What an install would leave behind if a Ctrl-C (SIGINT), SIGTERM or a terminal closing (SIGHUP) ended it now: the unpacked copy in
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
 * The command's `signals` (SIGINT, SIGTERM; SIGHUP unless the command ignores it): delete what is pending, then end by that
 * same signal, as without a handler (exit 130 or 143 to the shell). Library callers (the cutover) stop an install with
 * their own AbortSignal instead.
 */
export function cleanUpWhenInterrupted(signals: NodeJS.Signals[]): void {
  for (const signal of signals) {
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
