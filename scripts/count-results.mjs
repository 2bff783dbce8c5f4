// Prints the one plain line CI reads, "N passed, N failed[, N skipped]", summed over
// vitest JSON reports (the main suite, the foreign-platform lane), and exits non-zero
// when anything failed, a report is missing, or nothing passed at all.
import { readFileSync } from 'node:fs';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['out/test-results.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
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
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
