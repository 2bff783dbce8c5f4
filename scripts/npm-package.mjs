import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm pack <spec>` from the registry, unpacked into `dir` once and reused; returns the package folder.
 * How the test lanes get a Node other than the one running them (Node 22 beside Node 20, node.exe for
 * Wine, arm64 Node for qemu) without installing it anywhere.
 */
export function npmPackage(spec, dir, say) {
  const done = join(dir, 'package');
  if (existsSync(join(dir, '.done'))) return done;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  say(`fetching ${spec} from the npm registry`);
  const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [{ filename }] = JSON.parse(out);
  execFileSync('tar', ['-xzf', join(dir, filename), '-C', dir]);
  writeFileSync(join(dir, '.done'), `${spec}\n`);
  return done;
}
