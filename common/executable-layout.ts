/**
 * The section and segment tables of an ELF, Mach-O (thin or the first slice of a
 * universal binary) or PE file, read from its headers without running it. From them:
 * the size the headers declare (a truncated upload is shorter), the bytes `-s -w`
 * would strip (symbol tables and DWARF), and virtual address -> file offset mapping
 * (for Go's pointer-based build info). Release-side only; Node built-ins.
 */
import { NotAnExecutableError, type ExecutableFormat } from './binary-format.js';

export interface Section {
  name: string;
  /** File offset of its bytes; meaningless when `inFile` is false (bss, zerofill). */
  offset: number;
  size: number;
  addr: number;
  inFile: boolean;
}

export interface Layout {
  format: ExecutableFormat;
  littleEndian: boolean;
  sections: Section[];
  /** Address ranges backed by file bytes. */
  mappings: Array<{ addr: number; offset: number; size: number }>;
  /** Where the last byte any header points at ends: a shorter file was cut. */
  declaredSize: number;
  /** Bytes of DWARF debug info (what `-w` leaves out). */
  dwarf: number;
  /**
   * Bytes of the symbol table `-s` leaves out (ELF .symtab/.strtab, PE COFF symbols; Mach-O:
   * its local symbols, which Go before 1.22 kept even with -s, so count them apart).
   */
  symbols: number;
  /** Offset of the slice these tables belong to (universal Mach-O), else 0. */
  base: number;
}

const isDebug = (name: string) => /^(\.z?debug_|__z?debug_)/.test(name);

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
  ) {}
  u16(o: number): number {
    return this.le ? this.buf.readUInt16LE(o) : this.buf.readUInt16BE(o);
  }
  u32(o: number): number {
    return this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o);
  }
  u64(o: number): number {
    return Number(this.le ? this.buf.readBigUInt64LE(o) : this.buf.readBigUInt64BE(o));
  }
  cstr(o: number, max = 256): string {
    const end = this.buf.indexOf(0, o);
    return this.buf.toString('latin1', o, end < 0 || end - o > max ? Math.min(this.buf.length, o + max) : end);
  }
}

/** Reads the tables; throws NotAnExecutableError when even the headers are cut or unknown. */
export function readLayout(buf: Buffer): Layout {
  try {
    if (buf.length >= 16 && buf.readUInt32BE(0) === 0x7f454c46) return elf(buf);
    const be = buf.length >= 8 ? buf.readUInt32BE(0) : 0;
    const le = buf.length >= 8 ? buf.readUInt32LE(0) : 0;
    if (le === 0xfeedfacf || be === 0xfeedfacf || le === 0xfeedface || be === 0xfeedface) return macho(buf, 0);
    if (be === 0xcafebabe || be === 0xcafebabf) return fat(buf, be === 0xcafebabf);
    if (buf.length >= 64 && buf[0] === 0x4d && buf[1] === 0x5a) return pe(buf);
  } catch (err) {
    if (err instanceof RangeError) throw new NotAnExecutableError(`its headers are cut short (${buf.length} bytes)`);
    throw err;
  }
  throw new NotAnExecutableError('not an ELF, Mach-O or PE executable');
}

function elf(buf: Buffer): Layout {
  const is64 = buf[4] === 2;
  const r = new Reader(buf, buf[5] === 1);
  const [phoff, shoff] = is64 ? [r.u64(0x20), r.u64(0x28)] : [r.u32(0x1c), r.u32(0x20)];
  const at = is64 ? 0x36 : 0x2a;
  const [phentsize, phnum, shentsize, shnum, shstrndx] = [r.u16(at), r.u16(at + 2), r.u16(at + 4), r.u16(at + 6), r.u16(at + 8)];
  let declared = Math.max(phoff + phnum * phentsize, shnum ? shoff + shnum * shentsize : 0);
  const mappings: Layout['mappings'] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (p + phentsize > buf.length) break;
    const type = r.u32(p);
    const [offset, vaddr, filesz] = is64 ? [r.u64(p + 8), r.u64(p + 16), r.u64(p + 32)] : [r.u32(p + 4), r.u32(p + 8), r.u32(p + 16)];
    if (type === 1) {
      mappings.push({ addr: vaddr, offset, size: filesz });
      declared = Math.max(declared, offset + filesz);
    }
  }
  const raw: Array<Omit<Section, 'name'> & { nameOff: number }> = [];
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * shentsize;
    if (s + shentsize > buf.length) break;
    const type = r.u32(s + 4);
    const [addr, offset, size] = is64 ? [r.u64(s + 16), r.u64(s + 24), r.u64(s + 32)] : [r.u32(s + 12), r.u32(s + 16), r.u32(s + 20)];
    const inFile = type !== 8 && type !== 0; // SHT_NOBITS, SHT_NULL
    raw.push({ nameOff: r.u32(s), addr, offset, size, inFile });
    if (inFile) declared = Math.max(declared, offset + size);
  }
  const strtab = raw[shstrndx];
  const sections = raw.map(({ nameOff, ...s }) => ({ ...s, name: strtab && strtab.offset + nameOff < buf.length ? r.cstr(strtab.offset + nameOff) : '' }));
  const sum = (pick: (name: string) => boolean) => sections.filter((s) => s.inFile && pick(s.name)).reduce((n, s) => n + s.size, 0);
  const dwarf = sum(isDebug);
  const symbols = sum((name) => name === '.symtab' || name === '.strtab');
  return { format: 'elf', littleEndian: r.le, sections, mappings, declaredSize: declared, dwarf, symbols, base: 0 };
}

function fat(buf: Buffer, wide: boolean): Layout {
  const count = buf.readUInt32BE(4);
  const entry = wide ? 32 : 20;
  let declared = 8 + count * entry;
  let first: Layout | undefined;
  for (let i = 0; i < count; i++) {
    const e = 8 + i * entry;
    const [offset, size] = wide
      ? [Number(buf.readBigUInt64BE(e + 8)), Number(buf.readBigUInt64BE(e + 16))]
      : [buf.readUInt32BE(e + 8), buf.readUInt32BE(e + 12)];
    declared = Math.max(declared, offset + size);
    if (i === 0 && offset < buf.length) first = macho(buf, offset);
  }
  if (!first) throw new RangeError('first slice beyond the end');
  return { ...first, declaredSize: Math.max(declared, first.declaredSize) };
}

function macho(buf: Buffer, base: number): Layout {
  const magicLe = buf.readUInt32LE(base);
  const le = magicLe === 0xfeedfacf || magicLe === 0xfeedface;
  const r = new Reader(buf, le);
  const is64 = (le ? magicLe : buf.readUInt32BE(base)) === 0xfeedfacf;
  const ncmds = r.u32(base + 16);
  let p = base + (is64 ? 32 : 28);
  let declared = p + r.u32(base + 20);
  const sections: Section[] = [];
  const mappings: Layout['mappings'] = [];
  let dwarf = 0;
  let symtab = { nsyms: 0, strsize: 0 };
  let nlocal = 0;
  for (let i = 0; i < ncmds; i++) {
    const cmd = r.u32(p);
    const size = r.u32(p + 4);
    if (cmd === 0x19 || cmd === 0x1) {
      const w = cmd === 0x19;
      const segname = r.cstr(p + 8, 16);
      const [vmaddr, fileoff, filesize, nsects] = w
        ? [r.u64(p + 24), r.u64(p + 40), r.u64(p + 48), r.u32(p + 64)]
        : [r.u32(p + 24), r.u32(p + 32), r.u32(p + 36), r.u32(p + 48)];
      if (filesize > 0) mappings.push({ addr: vmaddr, offset: base + fileoff, size: filesize });
      declared = Math.max(declared, base + fileoff + filesize);
      if (segname === '__DWARF') dwarf += filesize;
      let s = p + (w ? 72 : 56);
      for (let j = 0; j < nsects; j++, s += w ? 80 : 68) {
        const [addr, ssize, offset, flags] = w
          ? [r.u64(s + 32), r.u64(s + 40), r.u32(s + 48), r.u32(s + 64)]
          : [r.u32(s + 32), r.u32(s + 36), r.u32(s + 40), r.u32(s + 56)];
        const type = flags & 0xff;
        sections.push({ name: r.cstr(s, 16), addr, size: ssize, offset: base + offset, inFile: ![0x1, 0xc, 0x12].includes(type) });
      }
    } else if (cmd === 0x2) {
      // LC_SYMTAB: symoff, nsyms, stroff, strsize
      const [symoff, nsyms, stroff, strsize] = [r.u32(p + 8), r.u32(p + 12), r.u32(p + 16), r.u32(p + 20)];
      declared = Math.max(declared, base + symoff + nsyms * (is64 ? 16 : 12), base + stroff + strsize);
      symtab = { nsyms, strsize };
    } else if (cmd === 0xb) {
      // LC_DYSYMTAB: ilocalsym, nlocalsym, ...
      nlocal = r.u32(p + 12);
    } else if (cmd === 0x1d) {
      // LC_CODE_SIGNATURE: dataoff, datasize
      declared = Math.max(declared, base + r.u32(p + 8) + r.u32(p + 12));
    }
    p += size;
  }
  // The dynamic linker needs the undefined and exported symbols; the locals (and, roughly, their share of the string table) can go.
  const symbols = symtab.nsyms ? Math.round(nlocal * (is64 ? 16 : 12) + (symtab.strsize * nlocal) / symtab.nsyms) : 0;
  return { format: 'macho', littleEndian: le, sections, mappings, declaredSize: declared, dwarf, symbols, base };
}

function pe(buf: Buffer): Layout {
  const r = new Reader(buf, true);
  const peOff = r.u32(0x3c);
  if (buf.readUInt32BE(peOff) !== 0x50450000) throw new NotAnExecutableError('MZ header without a PE signature');
  const coff = peOff + 4;
  const nsects = r.u16(coff + 2);
  const symoff = r.u32(coff + 8);
  const nsyms = r.u32(coff + 12);
  const optSize = r.u16(coff + 16);
  const opt = coff + 20;
  const plus = r.u16(opt) === 0x20b;
  const imageBase = plus ? r.u64(opt + 24) : r.u32(opt + 28);
  const dirs = opt + (plus ? 112 : 96);
  const ndirs = r.u32(opt + (plus ? 108 : 92));
  let declared = opt + optSize + nsects * 40;
  // Data directory 4, the certificate table, is the one that holds a file offset.
  if (ndirs > 4) declared = Math.max(declared, r.u32(dirs + 32) + r.u32(dirs + 36));
  let symbols = 0;
  let dwarf = 0;
  let strtab = -1;
  if (symoff > 0) {
    strtab = symoff + nsyms * 18;
    const strsize = strtab + 4 <= buf.length ? r.u32(strtab) : 4;
    declared = Math.max(declared, strtab + strsize);
    // A string table of 4 bytes holds only its own length: nothing to strip.
    if (nsyms > 0 || strsize > 4) symbols += nsyms * 18 + strsize;
  }
  const sections: Section[] = [];
  const mappings: Layout['mappings'] = [];
  for (let i = 0; i < nsects; i++) {
    const s = opt + optSize + i * 40;
    let name = r.cstr(s, 8);
    // Long names ("/123") live in the COFF string table; Go names its DWARF sections that way.
    if (name.startsWith('/') && strtab >= 0) {
      const at = strtab + Number(name.slice(1));
      if (at < buf.length) name = r.cstr(at);
    }
    const [vsize, va, rawSize, rawPtr] = [r.u32(s + 8), r.u32(s + 12), r.u32(s + 16), r.u32(s + 20)];
    sections.push({ name, addr: imageBase + va, size: Math.min(vsize || rawSize, rawSize), offset: rawPtr, inFile: rawSize > 0 });
    if (rawSize > 0) mappings.push({ addr: imageBase + va, offset: rawPtr, size: rawSize });
    declared = Math.max(declared, rawPtr + rawSize);
    if (isDebug(name)) dwarf += rawSize;
  }
  return { format: 'pe', littleEndian: true, sections, mappings, declaredSize: declared, dwarf, symbols, base: 0 };
}

/** The file offset of a virtual address, or undefined when no file bytes back it. */
export function offsetOfAddress(layout: Layout, addr: number): number | undefined {
  const m = layout.mappings.find((m) => addr >= m.addr && addr < m.addr + m.size);
  return m ? m.offset + (addr - m.addr) : undefined;
}

/** Bytes `go build -ldflags "-s -w"` would save. */
export function strippableBytes(layout: Layout): number {
  return layout.dwarf + layout.symbols;
}
