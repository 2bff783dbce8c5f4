import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadMatrix } from '../../common/matrix.js';
import { releaseWorkflow, WORKFLOW_PATH } from '../../release/workflow.js';

describe('generated release workflow', () => {
  const committed = readFileSync(WORKFLOW_PATH, 'utf8');
  const workflow = parse(committed);

  it('the committed file is exactly what matrix.json generates', () => {
    expect(committed).toBe(releaseWorkflow(loadMatrix()));
  });

  it('builds every matrix target, static and stamped, and nothing else', () => {
    const include = workflow.jobs.build.strategy.matrix.include;
    expect(include).toEqual(loadMatrix().targets.map((t) => ({ target: t.id, goos: t.goos, goarch: t.goarch, executable: t.executable })));
    const compile = workflow.jobs.build.steps.find((s: { name?: string }) => s.name === 'cross-compile');
    expect(compile.env.CGO_ENABLED).toBe('0');
    expect(compile.run).toContain('-trimpath');
    expect(compile.run).toContain('-X main.version=$VERSION');
  });

  it('publishes once, after every build, with provenance, and never moves latest', () => {
    const job = workflow.jobs.publish;
    expect(job.needs).toBe('build');
    expect(job.permissions['id-token']).toBe('write');
    const script = job.steps.map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(script).toMatch(/stage[\s\S]*verify[\s\S]*publish .*--provenance/);
    expect(script).not.toMatch(/promote|--tag latest/);
  });
});
