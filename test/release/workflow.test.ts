import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadMatrix } from '../../common/matrix.js';
import { REPO_ROOT } from '../../common/paths.js';
import { loadReleaseConfig } from '../../common/release-config.js';
import { releaseWorkflow, WORKFLOW_PATH } from '../../release/workflow.js';

type Step = {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  'working-directory'?: string;
};

const ACTION_VALIDATOR = join(REPO_ROOT, 'node_modules', '.bin', 'action-validator');

function validate(text: string): { status: number | null; output: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'ao-workflow-')), 'release.yml');
  writeFileSync(file, text);
  const r = spawnSync(ACTION_VALIDATOR, [file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('generated release workflow', () => {
  const committed = readFileSync(WORKFLOW_PATH, 'utf8');
  const workflow = parse(committed);
  const config = loadReleaseConfig();
  const build: Step[] = workflow.jobs.build.steps;
  const publish: Step[] = workflow.jobs.publish.steps;

  it('the committed file is exactly what matrix.json and release.json generate', () => {
    expect(committed).toBe(releaseWorkflow(loadMatrix(), config));
  });

  it('@action-validator/cli finds no errors in it, and does find one in a broken copy', () => {
    expect(validate(committed)).toEqual({ status: 0, output: '' });
    expect(validate(committed.replace('    runs-on: ubuntu-latest', '    runs-onn: ubuntu-latest')).status).not.toBe(0);
  });

  it('checks out the configured Go repository at the release ref and takes Go from its go.mod', () => {
    const checkout = build[0]!;
    expect(checkout.with).toMatchObject({
      repository: config.source.repository,
      ref: "${{ inputs.ref || format('v{0}', inputs.version) }}",
      'persist-credentials': false,
    });
    const setupGo = build.find((s) => s.uses?.startsWith('actions/setup-go@'))!;
    expect(setupGo.with!['go-version-file']).toBe(`${checkout.with!.path}/${config.source.moduleDir}/go.mod`);
  });

  it('builds every released target, static, stripped and stamped with the configured version, commit and date', () => {
    expect(workflow.jobs.build.strategy.matrix.include).toEqual(
      loadMatrix().targets.map((t) => ({ target: t.id, goos: t.goos, goarch: t.goarch, executable: t.executable })),
    );
    const compile = build.find((s) => s.name === 'cross-compile')!;
    expect(compile.env!.CGO_ENABLED).toBe('0');
    expect(compile['working-directory']).toBe(`go-source/${config.source.moduleDir}`);
    expect(compile.run).toContain(
      `go build -trimpath -ldflags "-s -w -X ${config.go.stamp.version}=$VERSION -X ${config.go.stamp.commit}=$COMMIT -X ${config.go.stamp.date}=$DATE"`,
    );
    expect(compile.run).toMatch(new RegExp(` ${config.source.mainPackage.replace('.', '\\.')}$`));
    // The version input reaches scripts through the environment only.
    expect(workflow.env.VERSION).toBe('${{ inputs.version }}');
    for (const s of [...build, ...publish]) expect(s.run ?? '').not.toContain('${{ inputs.');
  });

  it('pins every action by a full commit SHA and has a concurrency group', () => {
    const uses = [...build, ...publish].map((s) => s.uses).filter(Boolean) as string[];
    expect(uses.length).toBeGreaterThan(5);
    for (const u of uses) expect(u).toMatch(/^actions\/[a-z-]+@[0-9a-f]{40}$/);
    expect(workflow.concurrency).toEqual({ group: 'release-${{ inputs.version }}', 'cancel-in-progress': false });
  });

  it('stages, verifies, publishes with provenance, verifies against the registry, always uploads the record, never promotes', () => {
    const job = workflow.jobs.publish;
    expect(job.needs).toBe('build');
    expect(job.permissions['id-token']).toBe('write');
    const names = publish.map((s) => s.name).filter(Boolean);
    expect(names).toEqual(['stage', 'verify', 'publish under the staging tag', 'verify in the registry', 'upload the release record']);
    expect(publish.find((s) => s.name === 'publish under the staging tag')!.run).toMatch(/publish .*--provenance/);
    expect(publish.find((s) => s.name === 'verify in the registry')!.run).toMatch(/verify --stage out\/stage --registry https:\/\/registry\.npmjs\.org\//);
    const record = publish.find((s) => s.name === 'upload the release record')!;
    expect(record.if).toBe('always()');
    expect(record.with!.path).toBe('out/stage/*.json');
    expect(publish.map((s) => s.run ?? '').join('\n')).not.toMatch(/promote|--tag latest/);
  });
});
