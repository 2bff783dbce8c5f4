import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { asUser, canDropPrivileges, NOBODY } from '../support/users.js';
import { bundleSnippet } from '../support/bundle-snippet.js';

// removeTree opens folders its owner made unlistable (mode 000) so rm can go through them. Done by path, each chmod follows a
// folder some other user swapped for a link in between, when that user may write a folder above it: the reviewer's race
// (renameat2 RENAME_EXCHANGE in a loop) made another folder of the user's 0777. Run as an ordinary user (nobody): root's rm
// needs no opening.
describe.runIf(canDropPrivileges)('removeTree, as an ordinary user', () => {
  let base: string;
  let script: string;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'ao-remove-tree-'));
    chmodSync(base, 0o755);
    script = await bundleSnippet(
      "import { removeTree } from './common/remove-tree.ts';\nremoveTree(process.argv[2]).then(() => console.log('removed'), (e) => console.log(e.code));\n",
      join(base, 'remove-tree.cjs'),
    );
  });

  /** A tree of nobody's with `layout` folders (path -> mode, made in order, the first holding a file, modes set last first), removed as nobody. */
  function removeAsNobody(name: string, layout: Array<[string, number]>): string {
    // In a folder of nobody's, as an app's version folder is in the user's own versions/.
    const tree = join(base, 'nobodys', name);
    for (const [path] of layout) mkdirSync(join(tree, path), { recursive: true });
    chownSync(join(base, 'nobodys'), NOBODY, NOBODY);
    writeFileSync(join(tree, layout[0]![0], 'file'), 'x');
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, tree]);
    for (const [path, mode] of [...layout].reverse()) chmodSync(join(tree, path), mode);
    const r = spawnSync(...asUser(NOBODY, [process.execPath, script, tree]), { encoding: 'utf8' });
    return r.stdout.trim();
  }

  it('removes a tree holding folders its owner made unlistable', () => {
    expect(
      removeAsNobody('locked', [
        ['a/b', 0o000],
        ['a', 0o000],
      ]),
    ).toBe('removed');
    expect(existsSync(join(base, 'nobodys', 'locked'))).toBe(false);
  });

  it('changes the mode of no folder at or below one others may write, where a swap could send the chmod elsewhere', () => {
    const result = removeAsNobody('shared', [
      ['w/x', 0o000],
      ['w', 0o777],
    ]);
    expect(result).toBe('EACCES');
    expect(statSync(join(base, 'nobodys', 'shared', 'w')).mode & 0o7777).toBe(0o777);
    expect(statSync(join(base, 'nobodys', 'shared', 'w', 'x')).mode & 0o7777).toBe(0o000);
  });
});
