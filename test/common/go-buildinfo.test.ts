import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLayout, strippableBytes } from '../../common/executable-layout.js';
import { ldflagsStamps, NoGoBuildInfoError, readGoBuildInfo, readGoBuildInfoFile } from '../../common/go-buildinfo.js';
import { loadMatrix } from '../../common/matrix.js';
import { fixtureBinaries } from '../../rehearsal/fixture-binaries.js';
import { realRewriteBinary } from '../support/real-rewrite.js';
import { esbuildBinary } from '../support/third-party-go.js';

describe('Go build info read from binaries without running them', () => {
  let fixtureDir: string;
  beforeAll(async () => {
    fixtureDir = await fixtureBinaries('0.10.0');
  });

  it('reads the fixture for all six targets (ELF, Mach-O, PE; amd64 and arm64)', () => {
    for (const target of loadMatrix().targets) {
      const info = readGoBuildInfoFile(join(fixtureDir, target.id, target.executable));
      expect(info.path, target.id).toBe('example.invalid/ao-fixture/cmd/ao');
      expect(info.main?.path).toBe('example.invalid/ao-fixture');
      expect(info.goVersion).toMatch(/^go1\.\d+/);
      expect(info.settings).toMatchObject({ GOOS: target.goos, GOARCH: target.goarch, CGO_ENABLED: '0', '-trimpath': 'true' });
      // Built with -buildvcs=false: no revision recorded.
      expect(info.settings['vcs.revision']).toBeUndefined();
    }
  });

  it('reads the real rewrite binary: its main package, go1.25.7, static, and the modified tree it came from', async () => {
    const info = readGoBuildInfoFile(await realRewriteBinary());
    expect(info.goVersion).toBe('go1.25.7');
    expect(info.path).toBe('github.com/aoagents/agent-orchestrator/backend/cmd/ao');
    expect(info.main).toEqual({ path: 'github.com/aoagents/agent-orchestrator/backend', version: '(devel)' });
    expect(info.settings).toMatchObject({
      CGO_ENABLED: '0',
      GOOS: 'linux',
      GOARCH: 'amd64',
      vcs: 'git',
      'vcs.revision': 'c89414ddb8cf4dc35e77417907e1ea663b79cf6b',
      'vcs.modified': 'true',
    });
    // No -ldflags at all: nothing was stamped and nothing stripped.
    expect(info.settings['-ldflags']).toBeUndefined();
    expect(info.deps.length).toBeGreaterThan(10);
    expect(info.deps.every((d) => d.sum?.startsWith('h1:'))).toBe(true);
  }, 120_000);

  it('reads esbuild 0.25.9 (go1.23, inline layout) for linux, darwin and windows', async () => {
    for (const [target, goos, goarch] of [
      ['linux-x64', 'linux', 'amd64'],
      ['linux-arm64', 'linux', 'arm64'],
      ['darwin-arm64', 'darwin', 'arm64'],
      ['win32-x64', 'windows', 'amd64'],
    ] as const) {
      const info = readGoBuildInfoFile(await esbuildBinary(target));
      expect(info.goVersion, target).toBe('go1.23.12');
      expect(info.path).toBe('github.com/evanw/esbuild/cmd/esbuild');
      expect(info.settings).toMatchObject({ GOOS: goos, GOARCH: goarch, CGO_ENABLED: '0' });
    }
  }, 120_000);

  it('reads esbuild 0.13.15 (go1.17, the older pointer-based layout) for linux, darwin and windows', async () => {
    const xsys = [{ path: 'golang.org/x/sys', version: 'v0.0.0-20210908233432-aa78b53d3365', sum: 'h1:6wSTsvPddg9gc/mVEEyk9oOAoxn+bT4Z9q1zx+4RwA4=' }];
    // What `go version -m` prints for each: the windows build has no x/sys dependency.
    for (const [target, deps] of [
      ['linux-x64', xsys],
      ['darwin-arm64', xsys],
      ['win32-x64', []],
    ] as const) {
      const info = readGoBuildInfoFile(await esbuildBinary(target, 'go117'));
      expect(info.goVersion, target).toBe('go1.17.2');
      expect(info.path).toBe('github.com/evanw/esbuild/cmd/esbuild');
      expect(info.main).toEqual({ path: 'github.com/evanw/esbuild', version: '(devel)' });
      expect(info.deps).toEqual(deps);
    }
  }, 120_000);

  it('says so for an executable that is not a Go program', () => {
    expect(() => readGoBuildInfo(readFileSync(process.execPath))).toThrow(NoGoBuildInfoError);
  });

  it('the headers of the real binary declare its exact size, and its symbols and DWARF are about 7 MB', async () => {
    const buf = readFileSync(await realRewriteBinary());
    const layout = readLayout(buf);
    expect(layout.declaredSize).toBe(buf.length);
    expect(layout.dwarf).toBeGreaterThan(0);
    expect(layout.symbols).toBeGreaterThan(0);
    expect(strippableBytes(layout)).toBeGreaterThan(5_000_000);
    expect(strippableBytes(layout)).toBeLessThan(9_000_000);
  }, 120_000);

  // Go pads a stripped binary's last segment to a page: the file may be a little longer than declared, never shorter.
  const fits = (layout: { declaredSize: number }, length: number) => layout.declaredSize <= length && length - layout.declaredSize < 64 * 1024;

  it('stripped fixture binaries fit their declared size and carry no DWARF and (ELF, PE) no symbol table', () => {
    for (const target of loadMatrix().targets) {
      const buf = readFileSync(join(fixtureDir, target.id, target.executable));
      const layout = readLayout(buf);
      expect(fits(layout, buf.length), target.id).toBe(true);
      expect(layout.dwarf, target.id).toBe(0);
      if (layout.format !== 'macho') expect(layout.symbols, target.id).toBe(0);
    }
  });

  it('a cut-off copy of any target declares more bytes than it has (a truncated upload is visible)', () => {
    for (const target of loadMatrix().targets) {
      const buf = readFileSync(join(fixtureDir, target.id, target.executable));
      const cut = buf.subarray(0, buf.length - 100_000);
      expect(readLayout(cut).declaredSize, target.id).toBeGreaterThan(cut.length);
    }
  });

  it('esbuild 0.25.9 (stripped by go1.23) has nothing left to strip in any format', async () => {
    for (const target of ['linux-x64', 'darwin-arm64', 'win32-x64']) {
      const buf = readFileSync(await esbuildBinary(target));
      const layout = readLayout(buf);
      expect(fits(layout, buf.length), target).toBe(true);
      expect(strippableBytes(layout), target).toBe(0);
    }
  }, 120_000);

  it('parses -X stamps out of an -ldflags setting', () => {
    expect(ldflagsStamps('-s -w -X example.invalid/x/internal/cli.Version=0.10.0 -X=example.invalid/x/internal/cli.Commit=abc')).toEqual({
      'example.invalid/x/internal/cli.Version': '0.10.0',
      'example.invalid/x/internal/cli.Commit': 'abc',
    });
  });
});
