import { join } from 'node:path';
import { OUT_DIR } from '../common/paths.js';

/** What `ao-release` offers: every flag, every command with the flags it takes, and the help made from them. */
export const BIN = 'ao-release';
export const DEFAULT_STAGE = join(OUT_DIR, 'stage');

type Flag = { type: 'string' | 'boolean'; multiple?: boolean; value?: string; help: string };

/** Every flag once; each command lists the ones it takes. Add a flag here and to its commands. */
export const FLAGS: Record<string, Flag> = {
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

export const COMMANDS: Record<string, Command> = {
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

export const GLOBAL_FLAGS = ['json', 'help'];

export function flagUsage(name: string): string {
  const f = FLAGS[name]!; // names come from COMMANDS' flag lists, which name FLAGS' keys
  return `--${name}${f.value ? ` ${f.value}` : ''}`;
}

export function mainHelp(): string {
  const lines = [`${BIN}: the release engineer's tools for @aoagents/ao`, '', `usage: ${BIN} <command> [flags] [--json]`, ''];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(13)}${c.summary}`);
  lines.push('', `A release: stage, verify, publish, verify --registry, promote. \`${BIN} <command> --help\` shows a command's flags and examples.`, '');
  return lines.join('\n');
}

export function commandHelp(name: string): string {
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
