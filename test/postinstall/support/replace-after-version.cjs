// Test preload for the postinstall: once it has run the binary's `--version`, puts the file named by
// AO_TEST_REPLACEMENT in the binary's place by rename, as an install replacing it at that moment would.
const childProcess = require('node:child_process');
const { renameSync } = require('node:fs');
const execFileSync = childProcess.execFileSync;
childProcess.execFileSync = (file, args, ...rest) => {
  const out = execFileSync(file, args, ...rest);
  if (Array.isArray(args) && args[0] === '--version' && process.env.AO_TEST_REPLACEMENT) renameSync(process.env.AO_TEST_REPLACEMENT, file);
  return out;
};
