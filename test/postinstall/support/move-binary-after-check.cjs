// Test preload: replaces the platform binary (AO_TEST_BINARY) right after the launcher checked it, before it hands
// over, as yarn 1 replacing ao does (it unlinks the file, then writes the new one): after reading its stamp
// (AO_TEST_MOVE_AFTER=stamp, bin/ao's usual path) or after hashing it (=hash, the full launcher). The old file goes
// to <binary>.away; with AO_TEST_REPLACE_WITH=altered a copy with one byte flipped takes its place, else nothing.
// AO_TEST_MOVE_AFTER=every-hash: after each hash, the same bytes written anew in its place (something that keeps
// rewriting the file). AO_TEST_MOVE_AFTER=stat: moved away (nothing in its place) after the launcher's stat of it, as
// its hash starts reading (bun replacing ao removes the old package's files). AO_TEST_MOVE_AFTER=found: moved away
// once the full launcher found it, as it stats it. AO_TEST_MOVE_AFTER=checked: moved away (nothing in its place) after
// the full launcher's last check of it, before its spawn (Node 20), as npm moves ao's folder aside to put another
// release there.
const fs = require('node:fs');

const binary = process.env.AO_TEST_BINARY;
const after = process.env.AO_TEST_MOVE_AFTER;
const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  const file = String(path);
  if (after === 'stat' && file === binary) {
    fs.readFileSync = readFileSync;
    fs.renameSync(binary, `${binary}.away`);
    return readFileSync.call(this, path, ...rest);
  }
  const result = readFileSync.call(this, path, ...rest);
  if (after === 'every-hash' && file === binary) {
    fs.writeFileSync(`${binary}.next`, readFileSync(binary), { mode: 0o755 });
    fs.renameSync(`${binary}.next`, binary);
    return result;
  }
  if ((after === 'stamp' && file.includes('/verified/')) || (after === 'hash' && file === binary)) {
    fs.readFileSync = readFileSync;
    const bytes = readFileSync(binary);
    fs.renameSync(binary, `${binary}.away`);
    if (process.env.AO_TEST_REPLACE_WITH === 'altered') {
      bytes[bytes.length - 100] ^= 0xff;
      fs.writeFileSync(binary, bytes, { mode: 0o755 });
    }
  }
  return result;
};
const statSync = fs.statSync;
let stats = 0;
fs.statSync = function (path, ...rest) {
  const ours = String(path) === binary && new Error().stack.includes('launcher-full.cjs');
  if (after === 'found' && ours) {
    fs.statSync = statSync;
    fs.renameSync(binary, `${binary}.away`);
  }
  const result = statSync.call(this, path, ...rest);
  // Its stat when found, then the check right before the hand-over (sameFileAs).
  if (after === 'checked' && ours && ++stats === 2) {
    fs.statSync = statSync;
    fs.renameSync(binary, `${binary}.away`);
  }
  return result;
};
