import { readFileSync } from 'node:fs';

/**
 * Static facts about a Mach-O executable, read from its load commands: what
 * can be checked about a macOS binary on a machine that cannot run it.
 * Handles thin 64-bit files and universal (fat) files slice by slice.
 */
export interface MachoSlice {
  cpu: 'arm64' | 'x64' | `cputype 0x${string}`;
  /** Minimum macOS version (LC_BUILD_VERSION, or LC_VERSION_MIN_MACOSX in older linkers), e.g. "11.0". */
  minOs?: string;
  /** From LC_CODE_SIGNATURE: none, an ad-hoc signature (Go's linker, `codesign -s -`), or one with a certificate. */
  signature: 'none' | 'adhoc' | 'certificate';
}

const MH_MAGIC_64 = 0xfeedfacf;
const FAT_MAGIC = 0xcafebabe;
const LC_CODE_SIGNATURE = 0x1d;
const LC_VERSION_MIN_MACOSX = 0x24;
const LC_BUILD_VERSION = 0x32;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
const CS_ADHOC = 0x2;
const CPU: Record<number, MachoSlice['cpu']> = { 0x0100000c: 'arm64', 0x01000007: 'x64' };

const version = (v: number) => `${v >>> 16}.${(v >>> 8) & 0xff}${v & 0xff ? `.${v & 0xff}` : ''}`;

/** The signature kind held by the SuperBlob at `offset` (big-endian, like all code-signing blobs). */
function signatureKind(buf: Buffer, offset: number, size: number): MachoSlice['signature'] {
  if (size < 12 || offset + size > buf.length || buf.readUInt32BE(offset) !== CSMAGIC_EMBEDDED_SIGNATURE) return 'none';
  const count = buf.readUInt32BE(offset + 8);
  let adhoc = false;
  let cms = false;
  for (let i = 0; i < count; i++) {
    const blob = offset + buf.readUInt32BE(offset + 12 + i * 8 + 4);
    if (blob + 16 > buf.length) return 'none';
    const magic = buf.readUInt32BE(blob);
    if (magic === CSMAGIC_CODEDIRECTORY) adhoc = (buf.readUInt32BE(blob + 12) & CS_ADHOC) !== 0;
    // An empty CMS wrapper (8 bytes) is what ad-hoc signing leaves; a real one holds the certificate chain.
    if (magic === CSMAGIC_BLOBWRAPPER && buf.readUInt32BE(blob + 4) > 8) cms = true;
  }
  return cms && !adhoc ? 'certificate' : 'adhoc';
}

function readSlice(buf: Buffer, base: number): MachoSlice {
  if (base + 32 > buf.length || buf.readUInt32LE(base) !== MH_MAGIC_64) throw new Error('not a 64-bit little-endian Mach-O');
  const cputype = buf.readUInt32LE(base + 4);
  const ncmds = buf.readUInt32LE(base + 16);
  const slice: MachoSlice = { cpu: CPU[cputype] ?? `cputype 0x${cputype.toString(16)}`, signature: 'none' };
  let at = base + 32;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > buf.length) throw new Error('load commands run past the end of the file');
    const cmd = buf.readUInt32LE(at) & 0x7fffffff;
    const size = buf.readUInt32LE(at + 4);
    if (size < 8) throw new Error(`load command ${i} has size ${size}`);
    if (cmd === LC_BUILD_VERSION) slice.minOs = version(buf.readUInt32LE(at + 12));
    else if (cmd === LC_VERSION_MIN_MACOSX && !slice.minOs) slice.minOs = version(buf.readUInt32LE(at + 8));
    else if (cmd === LC_CODE_SIGNATURE) slice.signature = signatureKind(buf, base + buf.readUInt32LE(at + 8), buf.readUInt32LE(at + 12));
    at += size;
  }
  return slice;
}

/** Every slice of a Mach-O file (one for a thin file); throws when the file is not Mach-O. */
export function readMacho(file: string): MachoSlice[] {
  const buf = readFileSync(file);
  if (buf.length >= 8 && buf.readUInt32BE(0) === FAT_MAGIC) {
    const slices: MachoSlice[] = [];
    for (let i = 0; i < buf.readUInt32BE(4); i++) slices.push(readSlice(buf, buf.readUInt32BE(8 + i * 20 + 8)));
    return slices;
  }
  return [readSlice(buf, 0)];
}

/**
 * Why a darwin binary must not ship, or [] when nothing is wrong that can be
 * seen without a Mac: arm64 macOS kills an arm64 binary that carries no code
 * signature (ad-hoc is enough), so that is refused; x64 runs unsigned.
 */
export function machoProblems(file: string, expectedCpu?: 'arm64' | 'x64'): string[] {
  let slices: MachoSlice[];
  try {
    slices = readMacho(file);
  } catch (err) {
    return [`${file} is not a readable Mach-O executable: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  if (expectedCpu && !slices.some((s) => s.cpu === expectedCpu)) problems.push(`${file} holds ${slices.map((s) => s.cpu).join(', ')}, not ${expectedCpu}`);
  for (const s of slices) {
    if (s.cpu === 'arm64' && s.signature === 'none')
      problems.push(`${file} (arm64) has no code signature: macOS on Apple silicon kills it at launch; sign it (at least ad-hoc: codesign -s - ${file})`);
  }
  return problems;
}
