import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonFile } from '../../common/json-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ao-json-file-'));

describe('readJsonFile', () => {
  it('returns the parsed document', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, '{"a":[1,2]}');
    expect(readJsonFile(file, { what: 'the thing', fix: 'x' })).toEqual({ a: [1, 2] });
  });

  it('names a missing file, with the fix', () => {
    const file = join(dir, 'missing.json');
    expect(() => readJsonFile(file, { what: 'the release policy', fix: 'restore it' })).toThrow(
      expect.objectContaining({ what: `cannot read the release policy ${file}`, why: 'no such file', fix: 'restore it', code: 'ENOFILE' }),
    );
  });

  it("names a file that is not JSON, and keeps the caller's code when it gives one", () => {
    const file = join(dir, 'cut.json');
    writeFileSync(file, '{"format":"ao-legacy-bun');
    expect(() => readJsonFile(file, { what: 'the legacy bundle', fix: 'f' })).toThrow(
      expect.objectContaining({ code: 'EBADJSON', why: expect.stringMatching(/^it is not JSON \(/) }),
    );
    expect(() => readJsonFile(file, { what: 'the legacy bundle', fix: 'f', code: 'EBUNDLE' })).toThrow(expect.objectContaining({ code: 'EBUNDLE' }));
  });
});
