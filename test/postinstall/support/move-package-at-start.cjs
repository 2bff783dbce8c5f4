// Test preload: renames the main script's package folder (to <folder>.moved) once Node has read the script, before
// any of it runs: npm moving ao's folder aside to put another release in its place while `ao` starts. With
// AO_TEST_MOVE_AT=full, once Node has read the full launcher (lib/launcher-full.cjs) that bin/ao loads, before any of
// it runs: bun replacing ao removes the old release's files while a call is under way.
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const main = fs.realpathSync(process.argv[1]);
const pkg = path.join(path.dirname(main), '..');
const at = process.env.AO_TEST_MOVE_AT === 'full' ? path.join(pkg, 'lib', 'launcher-full.cjs') : main;
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (filename === at) {
    Module.prototype._compile = compile;
    fs.renameSync(pkg, `${pkg}.moved`);
  }
  return compile.call(this, content, filename);
};
