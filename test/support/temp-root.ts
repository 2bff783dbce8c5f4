import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TEMP_VARIABLES = ['TMPDIR', 'TMP', 'TEMP'] as const;

/**
 * Vitest global setup: every temp folder the tests make (and whatever they start with the inherited
 * environment) goes under one folder for this run, removed when the run ends. Test files made theirs with
 * mkdtemp and left them behind: a day of runs here put 66 GB in /tmp and filled the disk. Mode 1777 as
 * /tmp has, because some tests run programs as an unprivileged user inside it.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'ao-tests-'));
  chmodSync(root, 0o1777);
  const before = TEMP_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of TEMP_VARIABLES) process.env[name] = root;
  return () => {
    for (const [name, value] of before) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(root, { recursive: true, force: true });
  };
}
