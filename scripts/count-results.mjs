// Prints the one plain line CI reads, "N passed, N failed, N skipped", from vitest's JSON
// report, and exits non-zero when anything failed, nothing ran, or a test was skipped that
// .ci/expected-skips.json does not allow on this machine kind (each skip is listed with its reason).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const file = process.argv[2] ?? 'out/test-results.json';
const allowFile = process.argv[3] ?? '.ci/expected-skips.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  console.log('0 passed, 1 failed');
  console.error(`no test report at ${file}: the test run did not finish`);
  process.exit(1);
}

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

const passed = report.numPassedTests ?? 0;
// Files that failed to load count as failures, not as nothing.
const failedSuites = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
const failed = (report.numFailedTests ?? 0) + failedSuites;
const skips = (report.testResults ?? []).flatMap((r) =>
  (r.assertionResults ?? [])
    .filter((a) => a.status === 'skipped' || a.status === 'pending' || a.status === 'todo')
    .map((a) => ({ file: relative(process.cwd(), resolve(r.name)), name: a.fullName ?? a.title })),
);
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
