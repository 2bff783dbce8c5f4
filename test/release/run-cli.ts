import { expect, vi } from 'vitest';
import { main } from '../../release/cli.js';

/** Runs ao-release in-process and returns its exit code and what it wrote. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

/** With --json: stdout must be exactly one JSON object on one line, whatever happened. */
export async function cliJson(args: string[]): Promise<{ code: number; body: any; err: string }> {
  const { code, out, err } = await cli([...args, '--json']);
  expect(out.endsWith('\n') && out.indexOf('\n') === out.length - 1).toBe(true);
  return { code, body: JSON.parse(out), err };
}
