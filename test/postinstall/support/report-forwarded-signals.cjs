// Test preload: counts the signals the launcher sends to the binary through Node's process handle, and prints them on
// stderr as the process exits (one JSON line: signal number -> times sent).
const quiet = process.noDeprecation;
process.noDeprecation = true;
const { Process } = process.binding('process_wrap');
process.noDeprecation = quiet;
const kill = Process.prototype.kill;
const sent = {};
Process.prototype.kill = function (signal) {
  sent[signal] = (sent[signal] ?? 0) + 1;
  return kill.call(this, signal);
};
process.on('exit', () => require('node:fs').writeSync(2, `forwarded: ${JSON.stringify(sent)}\n`));
