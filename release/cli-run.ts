import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isUserError, UserError } from '../common/errors.js';
import { readJsonFile } from '../common/json-file.js';
import { loadMatrix } from '../common/matrix.js';
import { OUT_DIR } from '../common/paths.js';
import { loadReleaseConfig } from '../common/release-config.js';
import { writeAppManifest } from './app-artifacts.js';
import { buildBridgeFrom } from './bridge.js';
import { BIN, DEFAULT_STAGE } from './cli-commands.js';
import { usage, type Values } from './cli-parse.js';
import { startEmbeddedRegistry } from './embedded-registry.js';
import { loadPolicy } from './policy.js';
import { promote } from './promote.js';
import { publish } from './publish.js';
import { registryError, registryOptions, type RegistryTarget } from './registry-client.js';
import { checkReleaseApp, overrideLine, releaseVersion, stage, type StageResult } from './stage.js';
import { releaseStatus, statusLines } from './status.js';
import { readStage, verify } from './verify.js';
import { releaseWorkflow, WORKFLOW_PATH, writeWorkflow } from './workflow.js';

/** Builds the RegistryTarget the registry commands share. */
function targetOf(values: Values, url: string): RegistryTarget {
  return { url, ...(values.token ? { token: values.token as string } : {}), ...(values.otp ? { otp: values.otp as string } : {}) };
}

/** On stderr as well as in --json: a release made with the unstamped override must never look like a normal one. */
function sayOverride(staged: Pick<StageResult, 'override' | 'version'>): void {
  const line = overrideLine(staged);
  if (line) process.stderr.write(`${line}\n`);
}

/** Runs one parsed command, saying what it did; its result is what `--json` prints. */
export async function run(command: string, values: Values, stageDir: string, say: (l: string) => void, notice: (l: string) => void): Promise<unknown> {
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
