import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { renameWithRetry, tempSibling, writeFileAtomic } from '../common/fs-atomic.js';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../common/errors.js';
import { CACHE_DIR } from '../common/paths.js';
import type { Target } from '../common/matrix.js';

const run = promisify(execFile);

export interface GoBuildOptions {
  /** The Go module directory (the rewrite's backend/, or test/fixture-go). */
  sourceDir: string;
  /** The main package inside it, as `go build` takes it (`./cmd/ao`). */
  mainPackage: string;
  /** The fully qualified string variable `-X` stamps the version into (`<module>/internal/cli.Version`). */
  versionVariable: string;
  version: string;
  /** More `-X` pairs (the commit and build date variables), variable -> value. */
  extraStamps?: Record<string, string>;
  targets: Target[];
  /** Receives `<target.id>/<target.executable>`. */
  outDir: string;
  cacheDir?: string;
  /**
   * Record the checkout's vcs.revision/vcs.modified in the build info (default true, as a
   * release should). The fixture says false: it is not a repository of its own.
   */
  vcs?: boolean;
  /** Leave out symbols and DWARF (`-s -w`, default true). */
  strip?: boolean;
  /** `-trimpath` (default true). Without it Go also records the -ldflags in the build info. */
  trimpath?: boolean;
  /** Builds at once; Go itself is parallel, two suits a 2-core machine. */
  concurrency?: number;
}

async function sourceHash(dir: string, goVersion: string, version: string): Promise<string> {
  const hash = createHash('sha256').update(`${goVersion}\0${version}\0`);
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (/\.(go|mod|sum)$/.test(entry.name))
        hash
          .update(relative(dir, p))
          .update('\0')
          .update(await readFile(p));
    }
  };
  await walk(dir);
  return hash.digest('hex').slice(0, 16);
}

/**
 * Cross-compiles a static Go binary for every target, the way a release does:
 * CGO_ENABLED=0, -trimpath, stripped, version (and commit, date) stamped with -X.
 * Results are cached by source hash, Go version and version string.
 */
export async function buildGoBinaries(options: GoBuildOptions): Promise<Map<string, string>> {
  let goVersion: string;
  try {
    goVersion = (await run('go', ['version'])).stdout.trim();
  } catch (cause) {
    throw new UserError({ what: 'cannot build the Go binaries', why: '`go` is not on PATH', fix: 'apt-get install -y golang-go', cause });
  }
  const vcs = options.vcs ?? true;
  const stamps = { [options.versionVariable]: options.version, ...options.extraStamps };
  const ldflags = [...(options.strip === false ? [] : ['-s', '-w']), ...Object.entries(stamps).map(([variable, value]) => `-X ${variable}=${value}`)].join(' ');
  const trimpath = options.trimpath ?? true;
  const key = await sourceHash(options.sourceDir, goVersion, `${options.mainPackage}\0${ldflags}${vcs ? '' : '\0novcs'}${trimpath ? '' : '\0notrimpath'}`);
  const cacheRoot = join(options.cacheDir ?? join(CACHE_DIR, 'go-build'), key);
  const results = new Map<string, string>();
  const queue = [...options.targets];
  const worker = async () => {
    for (let target = queue.shift(); target; target = queue.shift()) {
      const cached = join(cacheRoot, target.id, target.executable);
      if (!existsSync(cached)) {
        const tmp = join(cacheRoot, `${target.id}.building-${process.pid}`);
        await rm(tmp, { recursive: true, force: true });
        await mkdir(tmp, { recursive: true });
        try {
          await run(
            'go',
            ['build', ...(trimpath ? ['-trimpath'] : []), `-buildvcs=${vcs}`, '-ldflags', ldflags, '-o', join(tmp, target.executable), options.mainPackage],
            {
              cwd: options.sourceDir,
              env: { ...process.env, CGO_ENABLED: '0', GOOS: target.goos, GOARCH: target.goarch, GOFLAGS: '-mod=mod' },
            },
          );
        } catch (cause) {
          throw new UserError({ what: `go build failed for ${target.id}`, why: String((cause as { stderr?: string }).stderr ?? cause).trim(), cause });
        }
        // Publish the build with one rename; if a concurrent build won the race, keep theirs.
        await renameWithRetry(tmp, join(cacheRoot, target.id)).catch(() => rm(tmp, { recursive: true, force: true }));
      }
      const dest = join(options.outDir, target.id, target.executable);
      await mkdir(join(options.outDir, target.id), { recursive: true });
      // Copy beside, then rename: a process running the old file keeps its inode,
      // and nobody ever sees (or executes) a half-copied binary.
      const tmp = tempSibling(dest);
      await cp(cached, tmp);
      await renameWithRetry(tmp, dest);
      results.set(target.id, dest);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  await writeFileAtomic(join(options.outDir, 'BUILD-INFO'), `${goVersion}\nversion ${options.version}\nsource ${key}\n`);
  return results;
}
