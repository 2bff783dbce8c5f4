import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inside } from '../../common/archive-write.js';

describe('inside (where an archive entry is written)', () => {
  const root = resolve('/tmp/ao-staging');

  it('gives what path.resolve gives, for clean paths and for paths that only look odd', () => {
    for (const path of ['a', 'a/b.txt', 'Agent Orchestrator.app/Contents/MacOS/ao', 'a/.hidden', '..a/b', 'a/b..', 'a/./b', 'a//b', 'a/', './a']) {
      expect(inside(root, path), path).toBe(resolve(root, path));
    }
  });

  it('refuses every path that leaves the folder, however it is spelled', () => {
    for (const path of ['..', '../x', 'a/../../x', '/etc/passwd', 'a/../..', '.']) {
      expect(() => inside(root, path), path).toThrow(/resolves outside/);
    }
  });
});
