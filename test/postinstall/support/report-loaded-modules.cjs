// Test preload: says on stderr, as the process ends, whether Node loaded child_process.
process.on('exit', () => {
  const loaded = process.moduleLoadList.includes('NativeModule child_process');
  process.stderr.write(`child_process loaded: ${loaded}\n`);
});
