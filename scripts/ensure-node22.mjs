// Node 22 beside the Node running the tests, for the tests and benches that compare the two lines
// (`process.execve` exists from 22.15): the registry package `node-<os>-<cpu>@22`, fetched into
// .cache/node22/ once. Not a devDependency: its `node` bin went first on the PATH of every npm script,
// so `npm test` ran the whole suite on Node 22 and Node 20, the floor `engines` promises, went untested.
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmPackage } from './npm-package.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OS = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];

try {
  if (!OS) throw new Error(`the npm registry has no Node package for ${process.platform}`);
  npmPackage(`node-${OS}-${process.arch}@22`, join(ROOT, '.cache', 'node22'), (m) => process.stderr.write(`ensure-node22: ${m}\n`));
} catch (err) {
  process.stderr.write(
    `ensure-node22: could not get Node 22 for the tests that compare Node 20 and 22: ${err.message.split('\n')[0]}\n` +
      'ensure-node22: check that the npm registry is reachable (npm ping), then run the command again\n',
  );
  process.exit(1);
}
