import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { UserError } from './errors.js';

/** What a file is to the person reading the error, the command that fixes it, and the error code. */
export interface JsonFileRole {
  /** "the app manifest", "the release policy", ... */
  what: string;
  fix: string;
  /** One code for both failures; without it, ENOFILE for an unreadable file and EBADJSON for bad JSON. */
  code?: string;
  /** Refuse a file larger than this (a path like /dev/zero never ends, and a huge file would be held in memory whole). */
  maxBytes?: number;
}

/**
 * The text of a file's bytes: UTF-8, or UTF-16 when it starts with UTF-16's byte-order mark (Windows PowerShell 5's `>` and
 * `Out-File` write UTF-16LE with one), read as UTF-8 it is no JSON and the error shows mojibake. The mark itself is kept (parse skips it).
 */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes).swap16().toString('utf16le');
  return bytes.toString('utf8');
}

/** The file's text, reading at most `maxBytes` + 1 bytes; undefined when it holds more. */
function readCapped(path: string, maxBytes: number): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, 1 << 20));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) return undefined;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    return decodeText(Buffer.concat(chunks));
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a JSON file, or throws one UserError that says which file, whether it was missing,
 * unreadable or not JSON, and what to run. Node built-ins only: this ships inside @aoagents/ao.
 */
export function readJsonFile(path: string, role: JsonFileRole): unknown {
  let text: string | undefined;
  try {
    text = role.maxBytes === undefined ? decodeText(readFileSync(path)) : readCapped(path, role.maxBytes);
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new UserError({ what: `cannot read ${role.what} ${path}`, why, fix: role.fix, code: role.code ?? 'ENOFILE', cause });
  }
  if (text === undefined)
    throw new UserError({
      what: `cannot read ${role.what} ${path}`,
      why: `it is larger than ${Math.round(role.maxBytes! / (1 << 20))} MB, which no such file is`,
      fix: role.fix,
      code: role.code ?? 'EBADJSON',
    });
  try {
    // A byte-order mark (PowerShell 5's Set-Content -Encoding UTF8, older Notepad; UTF-16's, decoded above) is no part of the JSON: RFC 8259 lets a reader skip it.
    return JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (cause) {
    throw new UserError({
      what: `cannot read ${role.what} ${path}`,
      why: `it is not JSON (${(cause as Error).message})`,
      fix: role.fix,
      code: role.code ?? 'EBADJSON',
      cause,
    });
  }
}
