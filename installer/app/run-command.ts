/**
 * Runs a command's promise to its end and sets the exit code from it. If the
 * event loop drains while the promise is still pending (a stream that waits on
 * itself, a dropped callback), Node would exit 0 having done nothing: here that
 * becomes an error and exit 70 instead.
 */
export const EXIT_INTERNAL = 70;

export function runCommand(name: string, main: () => Promise<number>, onError: (err: unknown) => number): void {
  let settled = false;
  const drained = () => {
    if (settled) return;
    settled = true;
    process.stderr.write(
      `${name}: internal error: the command stopped before it finished (nothing was left to wait for), so it did not complete\n` +
        '  fix: run the same command again; if it stops the same way, report it to the ao maintainers with the command you ran\n',
    );
    process.exitCode = EXIT_INTERNAL;
  };
  process.on('beforeExit', drained);
  main().then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (err) => {
      settled = true;
      process.exitCode = onError(err);
    },
  );
}
