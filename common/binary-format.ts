import { openSync, readSync, closeSync } from 'node:fs';

/**
 * Reads just enough of an executable's header to say what it is: ELF, Mach-O
 * (thin or universal) or PE, and for which CPU. Shared by the release verifier
 * and the user-side postinstall so both judge a binary the same way.
 * Node built-ins only: this ships inside @aoagents/ao.
 */
export type ExecutableFormat = 'elf' | 'macho' | 'pe';
export type ExecutableCpu = 'x64' | 'arm64' | 'ia32' | 'arm' | 'unknown';

export interface ExecutableInfo {
  format: ExecutableFormat;
  /** One entry for thin binaries; several for a universal Mach-O. */
  cpus: ExecutableCpu[];
}

const ELF_MACHINE: Record<number, ExecutableCpu> = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm' };
const MACHO_CPU: Record<number, ExecutableCpu> = { 0x01000007: 'x64', 0x0100000c: 'arm64', 0x07: 'ia32', 0x0c: 'arm' };
const PE_MACHINE: Record<number, ExecutableCpu> = { 0x8664: 'x64', 0xaa64: 'arm64', 0x014c: 'ia32', 0x01c4: 'arm' };

export class NotAnExecutableError extends Error {}

export function inspectExecutableBuffer(buf: Buffer): ExecutableInfo {
  if (buf.length >= 20 && buf.readUInt32BE(0) === 0x7f454c46) {
    const littleEndian = buf[5] === 1;
    const machine = littleEndian ? buf.readUInt16LE(18) : buf.readUInt16BE(18);
    return { format: 'elf', cpus: [ELF_MACHINE[machine] ?? 'unknown'] };
  }
  if (buf.length >= 8) {
    const le = buf.readUInt32LE(0);
    if (le === 0xfeedfacf || le === 0xfeedface) {
      return { format: 'macho', cpus: [MACHO_CPU[buf.readUInt32LE(4)] ?? 'unknown'] };
    }
    const be = buf.readUInt32BE(0);
    if (be === 0xfeedfacf || be === 0xfeedface) {
      return { format: 'macho', cpus: [MACHO_CPU[buf.readUInt32BE(4)] ?? 'unknown'] };
    }
    // Universal binary. 0xcafebabe is also a Java class file's magic; those have a
    // large "count" (the class version), a real fat header has only a few arches.
    if (be === 0xcafebabe || be === 0xcafebabf) {
      const count = buf.readUInt32BE(4);
      const entrySize = be === 0xcafebabf ? 32 : 20;
      if (count > 0 && count < 16 && buf.length >= 8 + count * entrySize) {
        const cpus: ExecutableCpu[] = [];
        for (let i = 0; i < count; i++) cpus.push(MACHO_CPU[buf.readUInt32BE(8 + i * entrySize)] ?? 'unknown');
        return { format: 'macho', cpus };
      }
    }
  }
  if (buf.length >= 64 && buf[0] === 0x4d && buf[1] === 0x5a) {
    const peOffset = buf.readUInt32LE(0x3c);
    if (peOffset + 6 <= buf.length && buf.readUInt32BE(peOffset) === 0x50450000) {
      return { format: 'pe', cpus: [PE_MACHINE[buf.readUInt16LE(peOffset + 4)] ?? 'unknown'] };
    }
  }
  throw new NotAnExecutableError('not an ELF, Mach-O or PE executable');
}

export function inspectExecutable(path: string): ExecutableInfo {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return inspectExecutableBuffer(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

const FORMAT_FOR_OS: Record<string, ExecutableFormat> = { darwin: 'macho', linux: 'elf', win32: 'pe' };

/** The executable format an npm os runs (darwin Mach-O, linux ELF, win32 PE). */
export function executableFormatFor(os: 'darwin' | 'linux' | 'win32'): ExecutableFormat {
  return FORMAT_FOR_OS[os] as ExecutableFormat;
}

/**
 * Why a binary does not fit an npm os/cpu pair, or undefined when it does.
 * A universal Mach-O fits any CPU it contains.
 */
export function executableMismatch(path: string, os: string, cpu: string): string | undefined {
  let info: ExecutableInfo;
  try {
    info = inspectExecutable(path);
  } catch (err) {
    return `${path} is ${err instanceof NotAnExecutableError ? 'not an executable' : `unreadable (${(err as Error).message})`}`;
  }
  const wantFormat = FORMAT_FOR_OS[os];
  if (info.format !== wantFormat) return `${path} is ${describeFormat(info)}, expected ${wantFormat} for ${os}-${cpu}`;
  if (!info.cpus.includes(cpu as ExecutableCpu)) return `${path} is ${describeFormat(info)}, expected CPU ${cpu} for ${os}-${cpu}`;
  return undefined;
}

export function describeFormat(info: ExecutableInfo): string {
  const name = { elf: 'an ELF', macho: 'a Mach-O', pe: 'a PE' }[info.format];
  return `${name} binary for ${info.cpus.join('+')}`;
}
