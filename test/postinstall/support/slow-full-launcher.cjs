// Test preload: the full launcher (lib/launcher-full.cjs) takes 3 s to load, as a call that waits for an install in
// progress or hashes a large binary; stderr says when that begins and when it is over.
const Module = require('node:module');
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (filename.endsWith('launcher-full.cjs')) {
    require('node:fs').writeSync(2, 'full launcher loading\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    require('node:fs').writeSync(2, 'full launcher loaded\n');
  }
  return compile.call(this, content, filename);
};
