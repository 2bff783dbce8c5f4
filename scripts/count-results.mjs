// Prints the one plain line CI reads, "N passed, N failed, N skipped", summed over vitest JSON
// reports (the main suite, the foreign-platform lane), and exits non-zero when anything failed, a
// report is missing, nothing passed at all, or a test was skipped that the allow-list
// (`--allow <file>`, default .ci/expected-skips.json) does not expect on this machine kind.
// Each skip is listed on stderr with its reason.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const allowAt = args.indexOf('--allow');
const allowFile = allowAt >= 0 ? args[allowAt + 1] : '.ci/expected-skips.json';
const files = args.filter((_, i) => allowAt < 0 || (i !== allowAt && i !== allowAt + 1));
if (files.length === 0) files.push('out/test-results.json');

const onPath = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const conditions = {
  'not-root': () => process.getuid?.() !== 0,
  'no-setpriv': () => !existsSync('/usr/bin/setpriv'),
  'no-qemu-aarch64': () => !onPath('qemu-aarch64-static'),
  'not-linux-x64': () => `${process.platform}-${process.arch}` !== 'linux-x64',
};
const allowed = existsSync(allowFile) ? JSON.parse(readFileSync(allowFile, 'utf8')).skips : [];

let passed = 0;
let failed = 0;
const skips = [];
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    console.error(`no test report at ${file}: that test run did not finish`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests ?? 0;
  // Files that failed to load count as failures, not as nothing.
  const failedSuites = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
  failed += (report.numFailedTests ?? 0) + failedSuites;
  for (const r of report.testResults ?? []) {
    for (const a of r.assertionResults ?? []) {
      if (a.status === 'skipped' || a.status === 'pending' || a.status === 'todo')
        skips.push({ file: relative(process.cwd(), resolve(r.name)), name: a.fullName ?? a.title });
    }
  }
}
let unexpected = 0;
for (const s of skips) {
  const entry = allowed.find((e) => e.file === s.file && s.name.includes(e.test) && conditions[e.when]?.());
  if (entry) console.error(`skipped (expected here: ${entry.reason}): ${s.file} > ${s.name}`);
  else {
    unexpected++;
    console.error(`skipped, NOT expected on this machine: ${s.file} > ${s.name}`);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skips.length} skipped`);
process.exit(failed > 0 || passed === 0 || unexpected > 0 ? 1 : 0);
