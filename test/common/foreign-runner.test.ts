import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foreignRunner } from '../../common/foreign-runner.js';

describe('foreignRunner', () => {
  const linuxX64 = { platform: 'linux', arch: 'x64' };

  it('runs the host target natively, linux-arm64 through the qemu on PATH, and says null for what nothing here runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-runner-'));
    try {
      const qemu = join(dir, 'qemu-aarch64-static');
      writeFileSync(qemu, '#!/bin/sh\n');
      chmodSync(qemu, 0o755);
      expect(foreignRunner({ os: 'linux', cpu: 'x64' }, linuxX64, dir)).toEqual([]);
      expect(foreignRunner({ os: 'linux', cpu: 'arm64' }, linuxX64, dir)).toEqual([qemu]);
      expect(foreignRunner({ os: 'linux', cpu: 'arm64' }, linuxX64, join(dir, 'empty'))).toBeNull();
      expect(foreignRunner({ os: 'darwin', cpu: 'arm64' }, linuxX64, dir)).toBeNull();
      expect(foreignRunner({ os: 'win32', cpu: 'x64' }, linuxX64, dir)).toBeNull();
      expect(foreignRunner({ os: 'linux', cpu: 'arm64' }, { platform: 'darwin', arch: 'x64' }, dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
