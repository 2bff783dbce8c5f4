/**
 * A `--require` preload that prints, at exit, the process's own peak RSS as `peakRssKb=<n>`: VmHWM from
 * /proc/self/status, the high-water mark of the program's memory (all its threads) since it was exec'd.
 * Not getrusage's maxRSS: on Linux that starts from the RSS of the process it was forked from (libuv
 * forks, then execs), so a 40 MB child of a 344 MB parent reports 297 MB, and a vitest worker or the
 * bench's runner put a floor under the child's own peak (the memory test read 73-84 MB from an
 * Electron-like install whose own peak was 66 MB). maxRSS only where there is no /proc.
 * No vitest import: the bench reuses it.
 */
export const PEAK_RSS_PRELOAD = `process.on('exit', () => {
  const fs = require('node:fs');
  let kb;
  try {
    kb = Number(/VmHWM:\\s*(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    kb = process.resourceUsage().maxRSS;
  }
  fs.writeSync(2, \`peakRssKb=\${kb}\\n\`);
});
`;

/** The peak a child running PEAK_RSS_PRELOAD printed on its stderr, in KiB. */
export function peakRssKb(stderr: string): number | undefined {
  const m = /peakRssKb=(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}
