import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadMatrix, validateMatrix } from '../../common/matrix.js';
import { MATRIX_PATH } from '../../common/paths.js';

const good = () => JSON.parse(readFileSync(MATRIX_PATH, 'utf8'));

function problemsOf(mutate: (m: any) => void): string {
  const m = good();
  mutate(m);
  try {
    validateMatrix(m);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('matrix was accepted');
}

describe('matrix.json', () => {
  it('lists the six supported targets and validates', () => {
    const m = loadMatrix();
    expect(m.targets.map((t) => t.id).sort()).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-arm64', 'win32-x64']);
    for (const t of m.targets) expect(t.package).toBe(`${m.mainPackage}-${t.id}`);
  });

  it('rejects an unknown os, naming the entry and the field', () => {
    expect(problemsOf((m) => (m.targets[2].os = 'freebsd'))).toMatch(/target linux-x64 \(targets\[2\]\): field "os" must be one of darwin, linux, win32/);
  });

  it('rejects an unknown cpu', () => {
    expect(problemsOf((m) => (m.targets[0].cpu = 'ppc64'))).toMatch(/target darwin-arm64 \(targets\[0\]\): field "cpu" must be one of x64, arm64/);
  });

  it('rejects a missing field', () => {
    expect(problemsOf((m) => delete m.targets[4].executable)).toMatch(/target win32-x64 \(targets\[4\]\): missing field "executable"/);
    expect(problemsOf((m) => delete m.targets[1].app.format)).toMatch(/target darwin-x64 \(targets\[1\]\): missing field "app.format"/);
  });

  it('rejects a duplicate target', () => {
    expect(problemsOf((m) => m.targets.push({ ...m.targets[3] }))).toMatch(
      /target linux-arm64 \(targets\[6\]\): duplicate id "linux-arm64" \(also in target linux-arm64 \(targets\[3\]\)\)/,
    );
  });

  it('rejects inconsistent Go and npm names', () => {
    expect(problemsOf((m) => (m.targets[2].goarch = 'arm64'))).toMatch(/field "goarch" must be "amd64" for cpu x64/);
    expect(problemsOf((m) => (m.targets[4].executable = 'ao'))).toMatch(/field "executable" must be "ao.exe"/);
    expect(problemsOf((m) => (m.targets[0].app.format = 'tar.gz'))).toMatch(/must be zip for darwin/);
  });

  it('lists every problem at once', () => {
    const msg = problemsOf((m) => {
      m.targets[0].os = 'plan9';
      delete m.targets[5].package;
    });
    expect(msg).toMatch(/targets\[0\]/);
    expect(msg).toMatch(/targets\[5\]/);
  });
});
