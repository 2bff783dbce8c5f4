import { readFile } from 'node:fs/promises';
import { readLayout, strippableBytes, type Layout } from '../common/executable-layout.js';
import { ldflagsStamps, readGoBuildInfo, type GoBuildInfo } from '../common/go-buildinfo.js';
import type { Target } from '../common/matrix.js';
import { goVersionAtLeast, type ReleaseConfig } from '../common/release-config.js';

/** What a release records about one binary, read from its bytes without running it. */
export interface BinaryFacts {
  size: number;
  goVersion?: string;
  /** The main package path from the build info. */
  mainPath?: string;
  vcsRevision?: string;
  vcsModified?: boolean;
  /** Bytes `-s -w` would leave: set only when the binary still carries symbols or DWARF. */
  strippedSize?: number;
  /**
   * What `-X <go.stamp.version>=` set, when the build info records the -ldflags (builds without
   * -trimpath, GoReleaser's default): null when they were recorded without that stamp.
   */
  stampedVersion?: string | null;
}

export interface BinaryCheck {
  facts: BinaryFacts;
  /** Reasons to refuse the release. */
  problems: string[];
  /** Shown in every report, not fatal. */
  warnings: string[];
}

/**
 * The release-time checks that need only the file: complete (not shorter than its
 * headers declare), a Go build for the target's GOOS/GOARCH with CGO_ENABLED=0, and,
 * with a release config, the configured main package, a Go toolchain at least the
 * floor, an unmodified tree unless allowed, and stripped unless unstripped is only a warning.
 */
export async function checkGoBinary(path: string, target: Target, config: ReleaseConfig | undefined): Promise<BinaryCheck> {
  const buf = await readFile(path);
  const facts: BinaryFacts = { size: buf.length };
  const problems: string[] = [];
  const warnings: string[] = [];
  let layout: Layout;
  try {
    layout = readLayout(buf);
  } catch (err) {
    return { facts, problems: [`cannot read its headers: ${(err as Error).message}`], warnings };
  }
  if (buf.length < layout.declaredSize) {
    return { facts, problems: [`is truncated: the file has ${buf.length} bytes, its headers declare ${layout.declaredSize}`], warnings };
  }
  let info: GoBuildInfo;
  try {
    info = readGoBuildInfo(buf, layout);
  } catch (err) {
    return { facts, problems: [`has no readable Go build info (${(err as Error).message})`], warnings };
  }
  Object.assign(facts, { goVersion: info.goVersion, mainPath: info.path });
  const s = info.settings;
  if (s['vcs.revision']) facts.vcsRevision = s['vcs.revision'];
  if (s['vcs.modified']) facts.vcsModified = s['vcs.modified'] === 'true';

  if (s.GOOS !== target.goos || s.GOARCH !== target.goarch)
    problems.push(`build info says GOOS=${s.GOOS ?? '?'} GOARCH=${s.GOARCH ?? '?'}, target ${target.id} is ${target.goos}/${target.goarch}`);
  if (s.CGO_ENABLED !== '0') problems.push(`was built with CGO_ENABLED=${s.CGO_ENABLED ?? '(unset)'}; release binaries must be static (CGO_ENABLED=0)`);
  if (config && s['-ldflags'] !== undefined) facts.stampedVersion = ldflagsStamps(s['-ldflags'])[config.go.stamp.version] ?? null;
  if (config) {
    if (info.path !== config.go.mainPath)
      problems.push(`build info names main package ${info.path || '(none)'}, the release config says ${config.go.mainPath}`);
    if (!goVersionAtLeast(info.goVersion, config.go.minVersion))
      problems.push(`was built with ${info.goVersion}, older than the configured floor go${config.go.minVersion}`);
  }
  if (facts.vcsModified) {
    const at = `vcs.modified=true at ${facts.vcsRevision?.slice(0, 12) ?? 'an unknown revision'}`;
    if (config?.checks.allowModifiedTree)
      warnings.push(`was built from a modified tree (${at}), accepted because the release config sets checks.allowModifiedTree`);
    else
      problems.push(
        `was built from a modified tree (${at}): build from a clean checkout of the release tag, or set checks.allowModifiedTree in the release config`,
      );
  }
  // Go before 1.22 kept Mach-O local symbols even with -s, so there only DWARF counts as unstripped.
  if (layout.dwarf > 0 || (layout.format !== 'macho' && layout.symbols > 0)) {
    facts.strippedSize = buf.length - strippableBytes(layout);
    const line = `is not stripped: ${mb(buf.length)}, about ${mb(facts.strippedSize)} with go build -ldflags "-s -w"`;
    if (config?.checks.unstripped === 'error') problems.push(`${line} (the release config makes this an error)`);
    else warnings.push(line);
  }
  return { facts, problems, warnings };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB (${bytes.toLocaleString('en-US')} bytes)`;
}
