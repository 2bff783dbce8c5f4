// Test preload: prints on stderr, as the process exits, every file Node compiled but the test's preloads (one JSON line).
// For a launcher that spawns the binary and waits for it (Node without process.execve).
process.on('exit', () => {
  const files = Object.keys(require.cache).filter((file) => !file.startsWith(__dirname));
  require('node:fs').writeSync(2, `compiled: ${JSON.stringify(files)}\n`);
});
