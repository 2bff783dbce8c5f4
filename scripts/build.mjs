// Builds the toolkit: type-checks and compiles the TypeScript to dist/, then
// bundles the code that ships inside npm packages into dist/shipped/.
import { execFileSync } from 'node:child_process';
import { bundleShipped } from './shipped.mjs';

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
await bundleShipped('dist/shipped');
