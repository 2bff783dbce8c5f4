import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The real path of a shipped file, from its `import.meta.url`. Node names the main script by its real path, except
 * under `--preserve-symlinks-main` (in NODE_OPTIONS), where it is the link that started it: npm's `<prefix>/bin/ao`,
 * whose folder holds nothing of the package. Node built-ins only: the launcher imports this.
 */
export function realFilePath(url: string): string {
  return realPath(fileURLToPath(url));
}

/** realpath(3) in one call (the JS realpathSync lstats every component); Windows keeps the JS one (native mis-resolves some drives). */
export function realPath(path: string): string {
  return process.platform === 'win32' ? realpathSync(path) : realpathSync.native(path);
}

/** realPath, or `path` itself when it has just gone (a package manager replacing the package as it runs). */
export function realPathOrGiven(path: string): string {
  try {
    return realPath(path);
  } catch {
    return path;
  }
}
