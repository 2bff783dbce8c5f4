// Test preload for node.exe under Wine: Windows refuses to start ao.exe (EPERM, as an antivirus or an application
// control policy does); every other process starts.
const quiet = process.noDeprecation;
process.noDeprecation = true;
const { Process } = process.binding('process_wrap');
process.noDeprecation = quiet;
const spawn = Process.prototype.spawn;
// libuv's code for EPERM (on Windows not os.constants.errno's).
const [EPERM] = [...require('node:util').getSystemErrorMap()].find(([, [name]]) => name === 'EPERM');
Process.prototype.spawn = function (options) {
  return /ao\.exe$/i.test(options.file) ? EPERM : spawn.call(this, options);
};
