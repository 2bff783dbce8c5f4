// Test preload: the first start of a process through Node's process handle fails with EAGAIN (a process limit reached
// for the moment); later ones run.
const quiet = process.noDeprecation;
process.noDeprecation = true;
const { Process } = process.binding('process_wrap');
process.noDeprecation = quiet;
const spawn = Process.prototype.spawn;
let failed = false;
Process.prototype.spawn = function (options) {
  if (failed) return spawn.call(this, options);
  failed = true;
  return -require('node:os').constants.errno.EAGAIN;
};
