import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishLegacyAndBridge } from '../../rehearsal/cutover.js';
import { startEmbeddedRegistry } from '../../release/embedded-registry.js';

const TEMP_VARIABLES = ['TMPDIR', 'TMP', 'TEMP'] as const;

describe("the rehearsal's legacy and bridge publish", () => {
  it('publishes 0.9.5 and the 0.9.6 bridge and leaves nothing in os.tmpdir()', async () => {
    const registry = await startEmbeddedRegistry();
    const temp = await mkdtemp(join(tmpdir(), 'ao-publish-legacy-'));
    const saved = TEMP_VARIABLES.map((name) => [name, process.env[name]] as const);
    try {
      // What the rehearsal and the npm it starts see as os.tmpdir(): an empty folder of this test's own.
      for (const name of TEMP_VARIABLES) process.env[name] = temp;
      await publishLegacyAndBridge(registry);
      for (const [name, value] of saved) process.env[name] = value;
      expect(await readdir(temp)).toEqual([]);
      const packument = (await (await fetch(new URL('@aoagents%2fao', registry.url))).json()) as {
        versions: Record<string, unknown>;
        'dist-tags': Record<string, string>;
      };
      expect(Object.keys(packument.versions).sort()).toEqual(['0.9.5', '0.9.6']);
      expect(packument['dist-tags'].latest).toBe('0.9.6');
    } finally {
      for (const [name, value] of saved) process.env[name] = value;
      await registry.stop();
    }
  });
});
