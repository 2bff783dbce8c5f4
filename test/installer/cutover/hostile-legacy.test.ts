import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../common/paths.js';
import { legacyFingerprint } from '../../../rehearsal/cutover.js';
import { hostFixtureBinary } from '../../../rehearsal/fixture-binaries.js';
import { generateLegacyHome } from '../../../rehearsal/legacy-home.js';
import { asUser, canDropPrivileges, NOBODY } from '../../support/users.js';

// A legacy tree with names that are not valid UTF-8 and entries its owner cannot read. The cutover runs as
// an ordinary user (uid 65534 through setpriv; root reads everything), so the permissions really bite.

describe.skipIf(!canDropPrivileges)('a hostile legacy tree: bad names and unreadable entries never stop the cutover', () => {
  let root: string;
  let cutoverModule: string;
  let ao: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ao-hostile-'));
    chmodSync(root, 0o755);
    cutoverModule = join(root, 'cutover.mjs');
    // The cutover as it ships: one bundle, run by node as the ordinary user.
    await build({
      entryPoints: [join(REPO_ROOT, 'installer', 'cutover', 'cutover.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: cutoverModule,
      logLevel: 'error',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    ao = await hostFixtureBinary('0.10.0');
  }, 120_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function hostileHome(name: string): { home: string; base: string; badName: Buffer; badSession: Buffer } {
    const home = join(root, name);
    mkdirSync(home);
    generateLegacyHome(home, { projects: 2, sessionsPerProject: 2, claude: true, seed: 9, generations: ['v1b', 'v2'] });
    const base = join(home, '.agent-orchestrator');
    const badName = Buffer.concat([Buffer.from(`${base}/notes-`), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('.md')]);
    writeFileSync(badName, 'bytes under a name that is not UTF-8');
    const v2 = readdirSync(join(base, 'projects'))[0]!;
    const badSession = Buffer.concat([Buffer.from(`${base}/projects/${v2}/sessions/s`), Buffer.from([0xc3, 0x28]), Buffer.from('.json')]);
    writeFileSync(badSession, '{"worktree":"/w"}');
    writeFileSync(join(base, 'private.yaml'), 'secret: 1\n');
    mkdirSync(join(base, 'locked'));
    writeFileSync(join(base, 'locked', 'inside'), 'x');
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, home]);
    chmodSync(join(base, 'private.yaml'), 0o000);
    chmodSync(join(base, 'locked'), 0o000);
    return { home, base, badName, badSession };
  }

  function runAsNobody(home: string, env: Record<string, string> = {}): { code: number; stderr: string } {
    const runner = join(root, 'run.mjs');
    writeFileSync(
      runner,
      `import { runCutover } from ${JSON.stringify(cutoverModule)};
let stderr = '';
const code = await runCutover({ mode: 'legacy-import', argv: ['--yes'], target: '0.10.0', ao: ${JSON.stringify(ao)}, env: { ...process.env }, stderr: { write: (s) => ((stderr += s), true) } });
process.stdout.write(JSON.stringify({ code, stderr }));`,
    );
    const out = execFileSync(...asUser(NOBODY, [process.execPath, runner]), {
      env: { PATH: process.env.PATH, HOME: home, ...env },
      cwd: home,
      encoding: 'utf8',
    });
    return JSON.parse(out) as { code: number; stderr: string };
  }

  const backupOf = (home: string) => {
    const dir = join(home, '.ao', 'backups');
    return join(dir, readdirSync(dir).find((d) => d.startsWith('legacy-') && !d.endsWith('.partial'))!);
  };

  it('backs up bad names byte for byte, lists what it cannot read, and finishes', async () => {
    const { home, badName, badSession } = hostileHome('finish');
    const before = await legacyFingerprint(home);
    const res = runAsNobody(home);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('2 entries could not be read and were left where they are');
    const backup = backupOf(home);
    const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as {
      unreadable: Array<{ path: string; reason: string }>;
      files: Array<{ path: string; pathBytes?: string }>;
    };
    expect(manifest.unreadable.map((u) => [u.path, u.reason]).sort()).toEqual([
      ['locked', 'cannot list: EACCES'],
      ['private.yaml', 'cannot read: EACCES'],
    ]);
    // The bad names are in the backup under their raw bytes, with their bytes.
    for (const original of [badName, badSession]) {
      const rel = original.subarray(Buffer.byteLength(join(home, '.agent-orchestrator')) + 1);
      const copy = Buffer.concat([Buffer.from(`${backup}/files/legacyBase/`), rel]);
      expect(readFileSync(copy)).toEqual(readFileSync(original));
      expect(manifest.files.some((f) => f.pathBytes !== undefined && f.path === rel.toString('utf8'))).toBe(true);
    }
    expect(await legacyFingerprint(home)).toBe(before);
  }, 120_000);

  it('rolls back cleanly past them: no false "could not undo" item (exit 1, not 3), legacy tree unchanged', async () => {
    const { home } = hostileHome('rollback');
    const before = await legacyFingerprint(home);
    const res = runAsNobody(home, { AO_FIXTURE_FAULT: 'import-error' });
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('rolled back');
    expect(res.stderr).not.toContain('could not undo');
    expect(await legacyFingerprint(home)).toBe(before);
  }, 120_000);
});
