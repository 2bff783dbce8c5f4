import { build } from 'esbuild';
import { REPO_ROOT } from '../../common/paths.js';

/**
 * A few lines of TypeScript importing the repo's modules (paths from the repo root), bundled into one CommonJS file at
 * `outfile`, for a child process a test runs as another user or lets drain: Node runs it without a TypeScript loader.
 */
export async function bundleSnippet(contents: string, outfile: string): Promise<string> {
  await build({ stdin: { contents, resolveDir: REPO_ROOT, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs', outfile, logLevel: 'warning' });
  return outfile;
}
