import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The real path of a shipped file, from its `import.meta.url`. Node names the main script by its real path, except
 * under `--preserve-symlinks-main` (in NODE_OPTIONS), where it is the link that started it: npm's `<prefix>/bin/ao`,
 * whose folder holds nothing of the package. Node built-ins only: the launcher imports this.
 */
export function realFilePath(url: string): string {
  const path = fileURLToPath(url);
  // Windows keeps the JS realpath (the native one mis-resolves some drives; see postinstall/resolve.ts).
  return process.platform === 'win32' ? realpathSync(path) : realpathSync.native(path);
}
