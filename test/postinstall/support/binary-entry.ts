import type { BinaryEntry } from '../../../common/ao-manifest.js';
import { digestFile } from '../../../common/integrity.js';

/** The linux-x64 manifest entry a release would list for the file at `path` (its size and sha512). */
export async function linuxEntryFor(path: string): Promise<BinaryEntry> {
  const { integrity, size } = await digestFile(path);
  return { package: '@aoagents/ao-linux-x64', version: '0.10.0', os: 'linux', cpu: 'x64', path: 'bin/ao', format: 'elf', integrity, size };
}
