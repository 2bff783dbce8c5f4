/**
 * undici marks EnvHttpProxyAgent (what honours HTTPS_PROXY/NO_PROXY here) as experimental and
 * prints a warning on every proxied run; to a user that line reads like a fault. Only that one
 * warning is dropped.
 */
const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const options = rest[0] as { code?: string } | string | undefined;
  const code = typeof options === 'object' ? options?.code : rest[1];
  if (code === 'UNDICI-EHPA') return;
  emit(warning, ...rest);
}) as typeof process.emitWarning;
