#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isUserError, UserError } from '../common/errors.js';
import { loadMatrix } from '../common/matrix.js';
import { loadReleaseConfig } from '../common/release-config.js';
import { OUT_DIR } from '../common/paths.js';
import { writeAppManifest } from './app-artifacts.js';
import { buildBridgeFrom } from './bridge.js';
import { startEmbeddedRegistry } from './embedded-registry.js';
import { loadPolicy } from './policy.js';
import { promote } from './promote.js';
import { publish } from './publish.js';
import { registryError, registryOptions, type RegistryTarget } from './registry-client.js';
import { checkReleaseApp, overrideLine, releaseVersion, stage, type StageResult } from './stage.js';
import { releaseStatus, statusLines } from './status.js';
import { readStage, verify } from './verify.js';
import { releaseWorkflow, WORKFLOW_PATH, writeWorkflow } from './workflow.js';
import { readJsonFile } from '../common/json-file.js';

const BIN = 'ao-release';
const DEFAULT_STAGE = join(OUT_DIR, 'stage');

type Flag = { type: 'string' | 'boolean'; multiple?: boolean; value?: string; help: string };

/** Every flag once; each command lists the ones it takes. Add a flag here and to its commands. */
const FLAGS: Record<string, Flag> = {
  version: { type: 'string', value: '<v>', help: 'the release version, exact semver (1.2.3, 1.2.3-rc.1)' },
  binaries: { type: 'string', value: '<dir>', help: 'built binaries: <target>/<exe> or GoReleaser dist/' },
  out: { type: 'string', value: '<path>', help: 'where to write (the default is in the command summary)' },
  app: { type: 'string', value: '<file>', help: 'desktop app manifest (from `ao-release app-manifest`) to pin in the main package' },
  stage: { type: 'string', value: '<dir>', help: 'the stage folder (default out/stage)' },
  registry: { type: 'string', value: '<url>', help: 'the npm registry' },
  tag: { type: 'string', value: '<tag>', help: 'the dist-tag' },
  token: { type: 'string', value: '<token>', help: 'registry token (else npmrc, then NODE_AUTH_TOKEN)' },
  otp: { type: 'string', value: '<code>', help: 'one-time password when the account uses 2FA for writes' },
  policy: { type: 'string', value: '<file>', help: 'a release policy other than release/policy.json (printed and recorded)' },
  provenance: { type: 'boolean', help: 'publish with a signed provenance statement (CI with id-token)' },
  'dry-run': { type: 'boolean', help: 'say what would happen, change nothing' },
  'force-prerelease': { type: 'boolean', help: 'let a prerelease take a guarded tag such as latest (recorded in publish.json)' },
  check: { type: 'boolean', help: 'fail when the committed file is stale instead of writing it' },
  artifacts: { type: 'string', value: '<dir>', help: 'folder holding the desktop app artifacts named in matrix.json' },
  'base-url': { type: 'string', value: '<url>', help: 'where users download the artifacts (file name appended)' },
  mirror: { type: 'string', multiple: true, value: '<url>', help: 'a mirror tried after --base-url (repeatable)' },
  key: { type: 'string', value: '<file>', help: 'Ed25519 private key (PEM) that signs each artifact' },
  legacy: { type: 'string', value: '<folder|spec>', help: 'the legacy package: a folder, a .tgz, or a registry spec such as @aoagents/ao@0.9.5' },
  target: { type: 'string', value: '<v>', help: 'the exact rewrite release the bridge migrates to' },
  'allow-unstamped': {
    type: 'string',
    value: '<reported>',
    help: 'release binaries that report <reported> (e.g. dev) instead of the version; recorded, and shown by every later command',
  },
  matrix: { type: 'string', value: '<file>', help: 'the target list (default matrix.json)' },
  config: { type: 'string', value: '<file>', help: 'the release config: Go source, stamping, binary checks, package metadata (default release.json)' },
  json: { type: 'boolean', help: 'print exactly one JSON object, on success and on failure' },
  help: { type: 'boolean', help: 'this help' },
};

interface Command {
  summary: string;
  flags: string[];
  required?: string[];
  examples: string[];
}

const COMMANDS: Record<string, Command> = {
  stage: {
    summary: 'wrap the binaries into the platform packages and the main package, packed into tarballs (writes --out, default out/stage)',
    flags: ['version', 'binaries', 'out', 'app', 'allow-unstamped', 'matrix', 'config'],
    required: ['version', 'binaries'],
    examples: [
      'ao-release stage --version 0.10.0 --binaries dist/',
      'ao-release stage --version 0.10.0-rc.1 --binaries binaries --app out/app-manifest-0.10.0-rc.1.json',
    ],
  },
  verify: {
    summary: 'check the staged tarballs; with --registry, also that npm resolves exactly one platform package per target',
    flags: ['stage', 'registry', 'token', 'matrix'],
    examples: ['ao-release verify', 'ao-release verify --registry https://registry.npmjs.org/'],
  },
  publish: {
    summary:
      'publish platform packages then the main package under staging-<version>, resume-safe, then fetch every package back byte for byte (no --registry: the embedded Verdaccio)',
    flags: ['stage', 'registry', 'tag', 'token', 'otp', 'provenance', 'dry-run', 'matrix'],
    examples: ['ao-release publish --registry https://registry.npmjs.org/ --provenance', 'ao-release publish --dry-run --registry https://registry.npmjs.org/'],
  },
  promote: {
    summary: 'move a dist-tag (latest; next for a prerelease) on all packages, only for a verified publish and as release/policy.json allows',
    flags: ['registry', 'stage', 'tag', 'policy', 'token', 'otp', 'dry-run', 'force-prerelease'],
    required: ['registry'],
    examples: ['ao-release promote --registry https://registry.npmjs.org/', 'ao-release promote --registry https://registry.npmjs.org/ --dry-run'],
  },
  status: {
    summary: 'what is staged, where it is published under which tags, whether it was verified, and what the policy allows next',
    flags: ['stage', 'registry', 'token', 'policy'],
    examples: ['ao-release status', 'ao-release status --registry https://registry.npmjs.org/ --json'],
  },
  'app-manifest': {
    summary:
      "hash and sign the desktop app artifacts named in matrix.json into the manifest `stage --app` takes, refusing any artifact users' ao-app would refuse",
    flags: ['version', 'artifacts', 'base-url', 'mirror', 'key', 'out', 'matrix'],
    required: ['version', 'artifacts', 'base-url', 'key'],
    examples: [
      'ao-release app-manifest --version 0.10.0 --artifacts app-dist/ --base-url https://dl.example.com/ao/0.10.0 --mirror https://mirror.example.com/ao/0.10.0 --key app-signing.pem',
    ],
  },
  bridge: {
    summary: 'build the bridge release (the legacy package with the cutover bundled in) from a real legacy package (writes --out, default out/bridge)',
    flags: ['legacy', 'version', 'target', 'registry', 'token', 'policy', 'out'],
    required: ['legacy'],
    examples: [
      'ao-release bridge --legacy @aoagents/ao@0.9.5 --registry https://registry.npmjs.org/',
      'ao-release bridge --legacy ../ao-legacy --version 0.9.6 --target 0.10.0',
    ],
  },
  workflow: {
    summary: 'regenerate .github/workflows/release.yml from matrix.json',
    flags: ['check'],
    examples: ['ao-release workflow', 'ao-release workflow --check'],
  },
};

const GLOBAL_FLAGS = ['json', 'help'];

function flagUsage(name: string): string {
  const f = FLAGS[name]!; // names come from COMMANDS' flag lists, which name FLAGS' keys
  return `--${name}${f.value ? ` ${f.value}` : ''}`;
}

function mainHelp(): string {
  const lines = [`${BIN}: the release engineer's tools for @aoagents/ao`, '', `usage: ${BIN} <command> [flags] [--json]`, ''];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(13)}${c.summary}`);
  lines.push('', `A release: stage, verify, publish, verify --registry, promote. \`${BIN} <command> --help\` shows a command's flags and examples.`, '');
  return lines.join('\n');
}

function commandHelp(name: string): string {
  const c = COMMANDS[name]!; // callers checked the name
  const lines = [
    `usage: ${BIN} ${name} ${c.flags.map((f) => (c.required?.includes(f) ? flagUsage(f) : `[${flagUsage(f)}]`)).join(' ')} [--json]`,
    '',
    c.summary,
    '',
    'flags:',
  ];
  for (const f of [...c.flags, ...GLOBAL_FLAGS]) lines.push(`  ${flagUsage(f).padEnd(30)}${FLAGS[f]!.help}`);
  lines.push('', 'examples:', ...c.examples.map((e) => `  ${e}`), '');
  return lines.join('\n');
}

function usage(command: string | undefined, why: string): UserError {
  return new UserError({ what: `bad arguments${command ? ` for ${command}` : ''}`, why, fix: `${BIN} ${command ? `${command} ` : ''}--help`, code: 'EUSAGE' });
}

/** Edit distance, to name the flag someone meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function closest(word: string, known: string[]): string | undefined {
  const ranked = known.map((k) => ({ k, d: distance(word, k) })).sort((x, y) => x.d - y.d);
  return ranked[0] && ranked[0].d <= Math.max(2, Math.floor(word.length / 3)) ? ranked[0].k : undefined;
}

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(command: string | undefined, argv: string[]): { values: Values; positionals: string[] } {
  const allowed = command && COMMANDS[command] ? [...COMMANDS[command].flags, ...GLOBAL_FLAGS] : Object.keys(FLAGS);
  const options = Object.fromEntries(
    allowed.map((name) => [
      name,
      { type: FLAGS[name]!.type, ...(FLAGS[name]!.multiple ? { multiple: true } : {}), ...(name === 'help' ? { short: 'h' } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
    return { values: values as Values, positionals };
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(message);
    if (unknown) {
      const name = unknown[2]!;
      const near = closest(name, allowed);
      const elsewhere = !allowed.includes(name) && FLAGS[name] ? Object.keys(COMMANDS).filter((c) => COMMANDS[c]!.flags.includes(name)) : [];
      throw usage(
        command,
        `unknown flag ${unknown[1]}${name}${near ? ` (did you mean --${near}?)` : elsewhere.length > 0 ? ` (${elsewhere.join(', ')} take${elsewhere.length === 1 ? 's' : ''} it, not ${command})` : ''}`,
      );
    }
    throw usage(command, message.split('\n')[0]!);
  }
}

/** Builds the RegistryTarget the registry commands share. */
function targetOf(values: Values, url: string): RegistryTarget {
  return { url, ...(values.token ? { token: values.token as string } : {}), ...(values.otp ? { otp: values.otp as string } : {}) };
}

export async function main(argv: string[]): Promise<number> {
  const command = argv.find((a) => !a.startsWith('-'));
  const json = argv.includes('--json');
  const say = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
  const notices: string[] = [];
  const notice = (line: string) => {
    notices.push(line);
    if (!json) process.stderr.write(`${BIN}: ${line}\n`);
  };
  try {
    if (!command || command === 'help') {
      const topic = argv.filter((a) => !a.startsWith('-'))[1];
      if (topic && COMMANDS[topic]) return help(commandHelp(topic), json);
      if (!command && !argv.includes('--help') && !argv.includes('-h')) {
        if (json) throw usage(undefined, 'no command given');
        process.stderr.write(mainHelp());
        return 2;
      }
      return help(mainHelp(), json);
    }
    if (!COMMANDS[command]) {
      const near = closest(command, Object.keys(COMMANDS));
      throw usage(undefined, `unknown command "${command}"${near ? ` (did you mean ${near}?)` : ''}; the commands are ${Object.keys(COMMANDS).join(', ')}`);
    }
    const { values, positionals } = parse(command, argv);
    if (values.help) return help(commandHelp(command), json);
    if (positionals.length > 1) throw usage(command, `unexpected argument "${positionals[1]}" (flags take the form --name value)`);
    const missing = (COMMANDS[command].required ?? []).filter((f) => values[f] === undefined || values[f] === '');
    if (missing.length > 0) throw usage(command, `${command} needs ${missing.map(flagUsage).join(', ')}`);
    const stageDir = resolve(
      (values.stage as string | undefined) ?? (command === 'stage' ? ((values.out as string | undefined) ?? DEFAULT_STAGE) : DEFAULT_STAGE),
    );
    const result = await run(command, values, stageDir, say, notice);
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, command, result, ...(notices.length > 0 ? { notices } : {}) })}\n`);
    return 0;
  } catch (err) {
    const e = isUserError(err) ? err : unexpected(command, err);
    if (json)
      process.stdout.write(`${JSON.stringify({ ok: false, command: command ?? null, error: { code: e.code, what: e.what, why: e.why, fix: e.fix } })}\n`);
    else process.stderr.write(`${BIN}: ${e.what}\n  why: ${e.why}\n${e.fix ? `  fix: ${e.fix}\n` : ''}`);
    if (!isUserError(err) && process.env.AO_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

function help(text: string, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify({ ok: true, command: 'help', result: { help: text } })}\n`);
  else process.stdout.write(text);
  return 0;
}

/** A failure nobody anticipated still gets one what/why/fix, never a bare stack trace. */
function unexpected(command: string | undefined, err: unknown): UserError {
  const message = ((err as Error)?.message ?? String(err)).split('\n')[0]!;
  return new UserError({
    what: `${command ?? BIN} failed unexpectedly`,
    why: message,
    fix: `run the same command again with AO_DEBUG=1 for the stack trace, and report it`,
    code: 'EINTERNAL',
    cause: err,
  });
}

/** On stderr as well as in --json: a release made with the unstamped override must never look like a normal one. */
function sayOverride(staged: Pick<StageResult, 'override' | 'version'>): void {
  const line = overrideLine(staged);
  if (line) process.stderr.write(`${line}\n`);
}

async function run(command: string, values: Values, stageDir: string, say: (l: string) => void, notice: (l: string) => void): Promise<unknown> {
  const str = (name: string) => values[name] as string | undefined;
  const matrix = () => loadMatrix(str('matrix') ? resolve(str('matrix')!) : undefined);
  switch (command) {
    case 'stage': {
      const { version, notice: normalised } = releaseVersion(str('version')!);
      if (normalised) notice(normalised);
      const targets = matrix();
      const app = str('app')
        ? checkReleaseApp(
            readJsonFile(resolve(str('app')!), {
              what: 'the app manifest',
              fix: `ao-release app-manifest --version ${version} --artifacts <dir> --base-url <url> --key <file>, then pass its --out file to --app`,
            }),
            targets,
            version,
          )
        : undefined;
      const allowUnstamped = str('allow-unstamped');
      const config = loadReleaseConfig(str('config') ? resolve(str('config')!) : undefined);
      const staged = await stage({
        matrix: targets,
        config,
        version,
        binariesDir: resolve(str('binaries')!),
        outDir: stageDir,
        ...(app ? { app } : {}),
        ...(allowUnstamped !== undefined ? { allowUnstamped } : {}),
      });
      for (const p of staged.packages) say(`staged ${p.name}@${p.version}  ${(p.size / 1024).toFixed(0)} KiB  ${p.integrity.slice(0, 22)}...`);
      sayOverride(staged);
      say(`stage record: ${join(stageDir, 'stage.json')}`);
      say(`next: ${BIN} verify${stageDir === DEFAULT_STAGE ? '' : ` --stage ${stageDir}`}`);
      return staged;
    }
    case 'verify': {
      const registry = str('registry');
      let report;
      try {
        report = await verify({ stageDir, matrix: matrix(), ...(registry ? { registry, npmOptions: await registryOptions(targetOf(values, registry)) } : {}) });
      } catch (err) {
        throw isUserError(err) || !registry ? err : registryError(err, registry, `resolving the release from ${registry}`);
      }
      say(`verified ${report.packages} packages of ${report.version}${report.resolution ? ', and npm resolves one platform package per target' : ''}`);
      for (const [id, b] of Object.entries(report.binaries)) {
        say(
          `  ${id}: ${b.goVersion ?? '?'} ${b.mainPath ?? '?'}${b.vcsRevision ? ` at ${b.vcsRevision.slice(0, 12)}${b.vcsModified ? ' (modified tree)' : ''}` : ''}, ${b.size.toLocaleString('en-US')} bytes`,
        );
      }
      for (const w of report.warnings) notice(`warning: ${w.package}: ${w.reason}`);
      sayOverride(report);
      return report;
    }
    case 'publish': {
      const registry = str('registry');
      const embedded = registry ? undefined : await startEmbeddedRegistry({ storageDir: join(OUT_DIR, 'embedded-registry') });
      if (embedded) say(`no --registry: publishing to the embedded registry ${embedded.url} (storage ${embedded.storageDir})`);
      sayOverride(await readStage(stageDir).catch(() => ({ version: '' })));
      try {
        const target = embedded ? { url: embedded.url, token: embedded.authToken } : targetOf(values, registry!);
        return await publish({
          stageDir,
          matrix: matrix(),
          registry: target,
          ...(str('tag') ? { tag: str('tag') } : {}),
          provenance: values.provenance === true,
          dryRun: values['dry-run'] === true,
          log: say,
        });
      } finally {
        await embedded?.stop();
      }
    }
    case 'promote': {
      const policy = loadPolicy(str('policy'));
      if (str('policy')) notice(`using the policy ${resolve(str('policy')!)}, not release/policy.json`);
      return promote({
        stageDir,
        registry: targetOf(values, str('registry')!),
        ...(str('tag') ? { tag: str('tag') } : {}),
        policy,
        ...(str('policy') ? { policyFile: resolve(str('policy')!) } : {}),
        forcePrerelease: values['force-prerelease'] === true,
        dryRun: values['dry-run'] === true,
        log: say,
      });
    }
    case 'status': {
      const status = await releaseStatus({
        stageDir,
        policy: loadPolicy(str('policy')),
        ...(str('registry') ? { registry: targetOf(values, str('registry')!) } : {}),
      });
      for (const line of statusLines(status)) say(line);
      return status;
    }
    case 'app-manifest': {
      const { version, notice: normalised } = releaseVersion(str('version')!);
      if (normalised) notice(normalised);
      const out = resolve(str('out') ?? join(OUT_DIR, `app-manifest-${version}.json`));
      const written = await writeAppManifest({
        matrix: matrix(),
        version,
        artifactsDir: resolve(str('artifacts')!),
        baseUrls: [str('base-url')!, ...((values.mirror as string[] | undefined) ?? [])],
        keyFile: resolve(str('key')!),
        out,
      });
      say(`app manifest for ${version}: ${Object.keys(written.manifest.targets).length} targets hashed, signed, and unpacked as ao-app does`);
      say(`written: ${out}`);
      say(`next: ${BIN} stage --version ${version} --binaries <dir> --app ${out}`);
      return written;
    }
    case 'bridge': {
      const policy = loadPolicy(str('policy'));
      const registry = str('registry');
      const built = await buildBridgeFrom({
        legacy: str('legacy')!,
        version: str('version') ?? policy.bridgeVersion,
        target: str('target') ?? policy.rewriteFrom,
        legacyRange: policy.legacyRange,
        outDir: resolve(str('out') ?? join(OUT_DIR, 'bridge')),
        ...(registry ? { registry: targetOf(values, registry) } : {}),
      });
      say(`bridge ${built.version} (cutover to ${built.target}) built from ${built.from}`);
      say(`tarball: ${built.tarball}  ${built.integrity.slice(0, 22)}...`);
      return built;
    }
    case 'workflow': {
      const text = releaseWorkflow(loadMatrix(), loadReleaseConfig());
      const upToDate = (await readFile(WORKFLOW_PATH, 'utf8').catch(() => '')) === text;
      if (values.check) {
        if (!upToDate)
          throw new UserError({
            what: `${WORKFLOW_PATH} is stale`,
            why: 'it differs from what matrix.json and release.json generate',
            fix: `${BIN} workflow`,
            code: 'ESTALE',
          });
        say(`${WORKFLOW_PATH} is up to date`);
      } else {
        const written = await writeWorkflow();
        say(`${written.changed ? 'wrote' : 'unchanged:'} ${written.path}`);
      }
      return { path: WORKFLOW_PATH, upToDate, bytes: text.length };
    }
  }
  throw usage(undefined, `unknown command "${command}"`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
