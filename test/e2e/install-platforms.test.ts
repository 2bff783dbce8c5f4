import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { inspectExecutable } from '../../common/binary-format.js';
import { loadMatrix } from '../../common/matrix.js';
import type { Sandbox } from '../../rehearsal/sandbox.js';
import { canRunPinnedNode, pinnedNode } from '../../rehearsal/pinned-node.js';
import { expectExactPassThrough, isElf, mustRun, run, useReleaseRegistry } from '../postinstall/install-support.js';

const SPEC = '@aoagents/ao@0.10.0';
const FORMAT = { darwin: 'macho', linux: 'elf', win32: 'pe' } as const;

describe('npm installs for every target and on another Node', () => {
  const release = useReleaseRegistry();
  const sandbox = (name: string) => release.sandbox(name);

  it('npm --os/--cpu lands exactly the right platform package for each of the six targets, in the right format', async () => {
    const targets = loadMatrix().targets;
    expect(targets).toHaveLength(6);
    const byTarget: Record<string, Sandbox> = {};
    for (const t of targets) {
      const sb = (byTarget[t.id] = sandbox(`npm-${t.id}`));
      await mustRun('npm', ['install', '-g', SPEC, `--os=${t.os}`, `--cpu=${t.cpu}`], sb.env);
      const scoped = join(sb.prefix, 'lib', 'node_modules', '@aoagents', 'ao', 'node_modules', '@aoagents');
      expect(readdirSync(scoped), t.id).toEqual([`ao-${t.id}`]);
      const binary = join(scoped, `ao-${t.id}`, 'bin', t.executable);
      expect(existsSync(binary), binary).toBe(true);
      const info = inspectExecutable(binary);
      expect(info.format, t.id).toBe(FORMAT[t.os as keyof typeof FORMAT]);
      expect(info.cpus, t.id).toContain(t.cpu);
    }
    // What a user meets with a macOS install carried onto Linux: the cause and the command, no stack trace.
    const carried = await run(join(byTarget['darwin-arm64']!.binDir, 'ao'), ['--version'], byTarget['darwin-arm64']!.env);
    expect(carried.status).toBe(1);
    expect(carried.stderr).toContain('holds darwin-arm64');
    // What this user did (npm --os/--cpu) is among the causes named, not only "copied into a container".
    expect(carried.stderr).toContain('installed for darwin-arm64, not this machine (by npm install --os/--cpu');
    expect(carried.stderr).toContain(`npm install -g ${SPEC}`);
    expect(carried.stderr).not.toMatch(/\n\s+at /);
  });

  it.runIf(canRunPinnedNode)('on Node 22 (npm too), the default global install swaps in the binary and passes exit codes and signals through', async () => {
    const sb = sandbox('npm-node22');
    sb.env = { ...sb.env, PATH: [dirname(await pinnedNode(22)), sb.env.PATH].join(delimiter) };
    expect(JSON.parse((await mustRun('npm', ['version', '--json'], sb.env)).stdout).node).toMatch(/^22\./);
    await mustRun('npm', ['install', '-g', SPEC], sb.env);
    const ao = join(sb.binDir, 'ao');
    expect(isElf(ao)).toBe(true);
    expect((await mustRun(ao, ['--version'], sb.env)).stdout).toBe('ao version 0.10.0\n');
    await expectExactPassThrough(ao, sb.env);
  });
});
