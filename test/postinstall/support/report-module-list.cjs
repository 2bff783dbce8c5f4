// Test preload: prints, as the process ends, every module and binding Node loaded (one JSON line on stderr).
process.on('exit', () => require('node:fs').writeSync(2, `modules: ${JSON.stringify(process.moduleLoadList)}\n`));
