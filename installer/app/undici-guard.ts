/**
 * undici 6 asserts `!this.paused` when a server closes the connection (`Connection: close`) while
 * the parser is paused because the body's reader is momentarily behind (nodejs/undici#5360, fixed
 * only in undici >= 8.6.0, which needs Node >= 22.19). The assertion is thrown from the socket's
 * 'end' handler, outside any promise, and kills the process; seen here on about half of the
 * downloads from such a server. By then every body byte has been handed to the reader, so the
 * download completes: the command drops that one assertion. Anything else uncaught is a bug, exit 70.
 */
function isPausedParserFinish(err: unknown): boolean {
  const e = err as { code?: string; stack?: string; message?: string } | undefined;
  return e?.code === 'ERR_ASSERTION' && /this\.paused/.test(e.message ?? '') && /Parser\.finish|onHttpSocketEnd/.test(e.stack ?? '');
}

export function guardUndiciSocketEnd(onOther: (err: unknown) => void): void {
  process.on('uncaughtException', (err) => {
    if (isPausedParserFinish(err)) return;
    onOther(err);
  });
}
