import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../common/paths.js';

/**
 * The README's Layout table is the layer rule: each top-level folder's row names, in its
 * "may import" column, the folders it may import besides its own. This test reads that
 * table and every relative import in the tree (git's tracked .ts/.mjs files) and fails
 * on any edge the table does not allow.
 */
function layoutRules(): Map<string, Set<string>> {
  const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
  const table = readme.slice(readme.indexOf('## Layout'));
  const rules = new Map<string, Set<string>>();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const folder = /^`([a-z-]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (!folder) continue;
    const allowed = [...(cells[3] ?? '').matchAll(/`([a-z-]+)\/`/g)].map((m) => m[1] as string);
    rules.set(folder, new Set(allowed.includes('*') ? ['*'] : allowed));
    if ((cells[3] ?? '').includes('everything')) rules.set(folder, new Set(['*']));
  }
  return rules;
}

interface Edge {
  from: string;
  to: string;
}

function importEdges(): Edge[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.startsWith('node_modules/'));
  const edges: Edge[] = [];
  for (const file of files) {
    let source: string;
    try {
      source = readFileSync(`${REPO_ROOT}/${file}`, 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
      edges.push({ from: file, to: posix.normalize(posix.join(posix.dirname(file), m[1] as string)) });
    }
  }
  return edges;
}

const top = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '.');

describe('layers (README Layout table)', () => {
  const rules = layoutRules();
  const edges = importEdges();

  it('the table names every top-level code folder and the rule reads as documented', () => {
    expect([...rules.keys()].sort()).toEqual(['bench', 'common', 'docs', 'installer', 'postinstall', 'rehearsal', 'release', 'scripts', 'test']);
    expect([...(rules.get('common') ?? [])]).toEqual([]);
    expect([...(rules.get('release') ?? [])]).toEqual(['common']);
    expect([...(rules.get('installer') ?? [])]).toEqual(['common']);
    expect(edges.length).toBeGreaterThan(300);
  });

  it('no import crosses a layer the table does not allow', () => {
    const broken = edges
      .filter((e) => {
        const from = top(e.from);
        const to = top(e.to);
        if (from === to) return false;
        const allowed = rules.get(from);
        if (!allowed) return true;
        return !allowed.has('*') && !allowed.has(to);
      })
      .map((e) => `${e.from} -> ${e.to}`);
    expect(broken).toEqual([]);
  });

  it('no release/ <-> installer/ edge, and product code never imports test/ or bench/', () => {
    const product = ['common', 'postinstall', 'installer', 'release', 'rehearsal', 'scripts'];
    const bad = edges.filter(
      (e) =>
        (top(e.from) === 'release' && top(e.to) === 'installer') ||
        (top(e.from) === 'installer' && top(e.to) === 'release') ||
        (product.includes(top(e.from)) && ['test', 'bench'].includes(top(e.to))),
    );
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });
});
