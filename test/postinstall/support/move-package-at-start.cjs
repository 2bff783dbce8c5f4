// Test preload: renames the main script's package folder (to <folder>.moved) once Node has read the script, before
// any of it runs: npm moving ao's folder aside to put another release in its place while `ao` starts.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const main = fs.realpathSync(process.argv[1]);
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (filename === main) {
    Module.prototype._compile = compile;
    const pkg = path.join(path.dirname(main), '..');
    fs.renameSync(pkg, `${pkg}.moved`);
  }
  return compile.call(this, content, filename);
};
