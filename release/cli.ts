#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatError, isUserError, UserError } from '../common/errors.js';
import { loadMatrix } from '../common/matrix.js';
import { OUT_DIR } from '../common/paths.js';
import { startEmbeddedRegistry } from './embedded-registry.js';
import { loadPolicy } from './policy.js';
import { promote } from './promote.js';
import { publish } from './publish.js';
import { authKey, type RegistryTarget } from './registry-client.js';
import { overrideLine, stage, type StageResult } from './stage.js';
import { readStage, verify } from './verify.js';
import { releaseWorkflow, WORKFLOW_PATH, writeWorkflow } from './workflow.js';

const HELP = `ao release tools

usage: node dist/release/cli.js <command> [flags] [--json]

  stage     --version <v> --binaries <dir> [--out <dir>] [--app <app-manifest.json>] [--allow-unstamped <reported>]
            wrap the binaries (<target>/<exe> or GoReleaser dist/) into platform packages and the main package;
            binaries this host runs must report <v>; --allow-unstamped dev releases binaries that say "dev"
            instead, recorded in stage.json and ao-manifest.json and shown by every later command
  verify    [--stage <dir>] [--registry <url> [--token <t>]]
            check the staged tarballs; with --registry, also that npm resolves one platform package per target
  publish   [--stage <dir>] [--registry <url>] [--tag <t>] [--token <t>] [--provenance] [--dry-run]
            publish platform packages then the main package under staging-<version>, resume-safe,
            then fetch every package back and compare it byte for byte (default registry: embedded Verdaccio)
  promote   --registry <url> [--stage <dir>] [--tag latest] [--policy <file>] [--token <t>] [--dry-run]
            move a dist-tag for the whole matrix, only for a verified publish, as release/policy.json allows
  workflow  [--check]
            regenerate .github/workflows/release.yml from matrix.json (--check: fail if it is stale)

--stage defaults to out/stage. --json prints one JSON object instead of human lines.
`;

const DEFAULT_STAGE = join(OUT_DIR, 'stage');

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      version: { type: 'string' },
      binaries: { type: 'string' },
      out: { type: 'string' },
      app: { type: 'string' },
      stage: { type: 'string' },
      registry: { type: 'string' },
      tag: { type: 'string' },
      token: { type: 'string' },
      policy: { type: 'string' },
      provenance: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      check: { type: 'boolean' },
      'allow-unstamped': { type: 'string' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  const json = values.json ?? false;
  const say = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
  const stageDir = resolve(values.stage ?? values.out ?? DEFAULT_STAGE);
  // On stderr as well as in --json: a release made with the override must never look like a normal one.
  const sayOverride = (staged: Pick<StageResult, 'override' | 'version'>) => {
    const line = overrideLine(staged);
    if (line) process.stderr.write(`${line}\n`);
  };
  const registryTarget = (url: string): RegistryTarget => ({ url, ...(values.token ? { token: values.token } : {}) });
  try {
    let result: unknown;
    switch (command) {
      case 'stage': {
        if (!values.version || !values.binaries) throw usage('stage needs --version and --binaries');
        const app = values.app ? JSON.parse(await readFile(values.app, 'utf8')) : undefined;
        const allowUnstamped = values['allow-unstamped'];
        const staged = await stage({ matrix: loadMatrix(), version: values.version, binariesDir: resolve(values.binaries), outDir: stageDir, ...(app ? { app } : {}), ...(allowUnstamped !== undefined ? { allowUnstamped } : {}) });
        for (const p of staged.packages) say(`staged ${p.name}@${p.version}  ${kb(p.size)}  ${p.integrity.slice(0, 22)}...`);
        sayOverride(staged);
        say(`stage record: ${join(stageDir, 'stage.json')}`);
        result = staged;
        break;
      }
      case 'verify': {
        const report = await verify({ stageDir, ...(values.registry ? { registry: values.registry, npmOptions: values.token ? { [authKey(values.registry)]: values.token } : {} } : {}) });
        say(`verified ${report.packages} packages of ${report.version}${report.resolution ? ', and npm resolves one platform package per target' : ''}`);
        sayOverride(report);
        result = report;
        break;
      }
      case 'publish': {
        const embedded = values.registry ? undefined : await startEmbeddedRegistry({ storageDir: join(OUT_DIR, 'embedded-registry') });
        if (embedded) say(`no --registry: publishing to the embedded registry ${embedded.url} (storage ${embedded.storageDir})`);
        sayOverride(await readStage(stageDir).catch(() => ({ version: '' })));
        try {
          const target = embedded ? { url: embedded.url, token: embedded.authToken } : registryTarget(values.registry!);
          result = await publish({ stageDir, registry: target, ...(values.tag ? { tag: values.tag } : {}), provenance: values.provenance ?? false, dryRun: values['dry-run'] ?? false, log: say });
        } finally {
          await embedded?.stop();
        }
        break;
      }
      case 'promote': {
        if (!values.registry) throw usage('promote needs --registry (the one the publish record names)');
        result = await promote({ stageDir, registry: registryTarget(values.registry), ...(values.tag ? { tag: values.tag } : {}), policy: loadPolicy(values.policy), dryRun: values['dry-run'] ?? false, log: say });
        break;
      }
      case 'workflow': {
        const { text, upToDate } = await workflowStatus();
        if (values.check) {
          if (!upToDate) throw new UserError({ what: `${WORKFLOW_PATH} is stale`, why: 'it differs from what matrix.json generates', fix: 'node dist/release/cli.js workflow', code: 'ESTALE' });
          say(`${WORKFLOW_PATH} is up to date`);
        } else {
          const written = await writeWorkflow();
          say(`${written.changed ? 'wrote' : 'unchanged:'} ${written.path}`);
        }
        result = { path: WORKFLOW_PATH, upToDate, bytes: text.length };
        break;
      }
      default:
        throw usage(`unknown command "${command}"`);
    }
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, command, result })}\n`);
    return 0;
  } catch (err) {
    if (json && isUserError(err)) process.stdout.write(`${JSON.stringify({ ok: false, command, error: { code: err.code, what: err.what, why: err.why, fix: err.fix } })}\n`);
    else process.stderr.write(`${formatError(err, 'ao-release')}\n`);
    return 1;
  }
}

async function workflowStatus(): Promise<{ text: string; upToDate: boolean }> {
  const text = releaseWorkflow(loadMatrix());
  const current = await readFile(WORKFLOW_PATH, 'utf8').catch(() => '');
  return { text, upToDate: current === text };
}

function usage(why: string): UserError {
  return new UserError({ what: 'bad arguments', why, fix: 'node dist/release/cli.js --help', code: 'EUSAGE' });
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
