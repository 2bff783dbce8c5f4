/**
 * A reader that goes away (`cmd | head -n 1`, a closed pipe) ends nothing: what it would have read is dropped.
 * Without a listener Node throws EPIPE as an unhandled 'error' event, a stack trace and exit 1. Any other error
 * on these streams is the bug it was.
 */
export function dropWritesToClosedPipes(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

/**
 * For a command whose work matters more than its output (ao-app install): writes to `stream` that fail are
 * dropped from then on, however they fail (a reader gone: EPIPE; `> log` on a full disk: ENOSPC, thrown at once
 * since a file is written synchronously; a terminal closed under a detached run: EIO, as an 'error' event), and
 * `onLost` is told once with the error's code (not for EPIPE: a reader that stopped reading is no problem).
 */
export function writesThatNeverFail(stream: NodeJS.WriteStream, onLost: (code: string) => void): (text: string) => void {
  let lost = false;
  const lose = (err: NodeJS.ErrnoException) => {
    if (lost) return;
    lost = true;
    if (err.code !== 'EPIPE') onLost(err.code ?? String(err));
  };
  stream.on('error', lose);
  return (text) => {
    if (lost) return;
    try {
      stream.write(text);
    } catch (err) {
      lose(err as NodeJS.ErrnoException);
    }
  };
}
