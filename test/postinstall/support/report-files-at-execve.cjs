// Test preload: as the launcher hands over with process.execve, prints on stderr every file Node compiled besides this one (one JSON line).
const execve = process.execve;
process.execve = (...args) => {
  const files = Object.keys(require.cache).filter((file) => file !== __filename);
  require('node:fs').writeSync(2, `compiled: ${JSON.stringify(files)}\n`);
  return execve(...args);
};
