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
