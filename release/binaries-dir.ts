import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from '../common/matrix.js';

/**
 * Finds each target's binary in a build output folder. Two layouts are read:
 * ours, `<target.id>/<executable>`, and GoReleaser's default `dist/`,
 * `<project>_<goos>_<goarch>[_v1|_v8.0]/<executable>`.
 */
export function locateBinaries(dir: string, targets: Target[]): { found: Map<string, string>; missing: Target[] } {
  const found = new Map<string, string>();
  const missing: Target[] = [];
  const entries = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
    : [];
  for (const target of targets) {
    const ours = join(dir, target.id, target.executable);
    if (existsSync(ours)) {
      found.set(target.id, ours);
      continue;
    }
    const goreleaser = new RegExp(`_${target.goos}_${target.goarch}(_v[0-9.]+)?$`);
    const match = entries.find((name) => goreleaser.test(name) && existsSync(join(dir, name, target.executable)));
    if (match) found.set(target.id, join(dir, match, target.executable));
    else missing.push(target);
  }
  return { found, missing };
}
