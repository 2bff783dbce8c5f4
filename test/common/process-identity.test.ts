import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processStartId, psStartId } from '../../common/process-identity.js';

describe('processStartId', () => {
  it('names this process the same way every time, and another process differently', async () => {
    const mine = processStartId(process.pid);
    expect(mine).toMatch(/\S/);
    expect(processStartId(process.pid)).toBe(mine);
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const theirs = processStartId(other.pid!);
      expect(theirs).toMatch(/\S/);
      expect(theirs).not.toBe(mine);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('has no identity for a pid that names no process', async () => {
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('close', resolve));
    expect(processStartId(gone.pid!)).toBeUndefined();
  });
});

describe('psStartId (the path macOS takes)', () => {
  it('names a process the same way whatever TZ and locale the caller runs under', () => {
    const saved = { TZ: process.env.TZ, LC_ALL: process.env.LC_ALL };
    try {
      process.env.TZ = 'UTC';
      const utc = psStartId(process.pid);
      process.env.TZ = 'Asia/Tokyo';
      process.env.LC_ALL = 'C.UTF-8';
      expect(utc).toMatch(/\d{4}/);
      expect(psStartId(process.pid)).toBe(utc);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
