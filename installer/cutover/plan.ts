import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { formatError, UserError } from '../../common/errors.js';
import type { LegacyInstall } from './legacy-install.js';
import { installArgs, PACKAGE_NAME } from './package-manager.js';
import { checkDiskSpace, checkNode, checkWritable, lookUpTarget, requiredFreeBytes } from './steps/preflight.js';

/** Before anything changes: the plan a person reads, the read-only checks of `--check`, and the yes. */
export function printPlan(
  log: (l: string) => void,
  p: { target: string; legacy: LegacyInstall; home: string; aoHome: string; backupBytes: number; legacyHome: boolean },
): void {
  const pm = p.legacy.kind === 'package' ? p.legacy.pm : undefined;
  const legacyVersion = p.legacy.kind === 'package' ? p.legacy.version : undefined;
  if (pm) log(`ao update will move ${PACKAGE_NAME} ${legacyVersion} (${pm.name}) to ${p.target}:`);
  else log(`ao-legacy-import will import your legacy ao home into ao ${p.target}:`);
  log(`  - check: Node, free disk space${pm ? `, write access to ${pm.globalRoot}, ${p.target} in the registry` : ''}`);
  log(`  - back up ${join(p.home, '.agent-orchestrator')} and the global config (${(p.backupBytes / 1e6).toFixed(1)} MB) to ${join(p.aoHome, 'backups')}/`);
  if (pm) {
    const [cmd, args] = installArgs(pm.name, `${PACKAGE_NAME}@${p.target}`);
    log(`  - install: ${cmd} ${args.join(' ')}`);
    log('  - fetch the desktop app');
  }
  log(
    p.legacyHome
      ? `  - import: your projects into the new ao; every session with its agent resume ids kept in ${join(p.aoHome, 'legacy', 'bundle.json')}, and imported too if the new ao can take sessions`
      : '  - import: nothing (no legacy home found)',
  );
  log('  - start the new daemon, check it is healthy and holds your projects, then stop it again');
  log(`  Your legacy data is only read. On any failure you are put back${legacyVersion ? ` on ${legacyVersion}` : ''} as you were.`);
}

export async function dryRunChecks(
  log: (l: string) => void,
  p: { target: string; env: NodeJS.ProcessEnv; legacy: LegacyInstall; aoHome: string; backupBytes: number },
): Promise<boolean> {
  const checks: Array<[string, () => Promise<unknown>]> = [
    ['free disk space', () => checkDiskSpace(p.aoHome, requiredFreeBytes(p.legacy.kind === 'package', p.backupBytes))],
  ];
  if (p.legacy.kind === 'package') {
    const { pm } = p.legacy;
    checks.unshift(
      ['registry and Node', async () => checkNode(await lookUpTarget(p.target, p.env, { readOnly: true }))],
      ['write access', () => checkWritable(pm)],
    );
  }
  let ok = true;
  for (const [label, check] of checks) {
    try {
      await check();
      log(`  ok: ${label}`);
    } catch (err) {
      ok = false;
      log(formatError(err, `  not ok: ${label}`));
    }
  }
  log(ok ? 'check only: nothing was changed' : 'check only: nothing was changed; fix the above before updating');
  return ok;
}

export async function confirm(
  name: string,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<void> {
  if (!stdin.isTTY || !stderr.isTTY) {
    throw new UserError({
      what: `${name} needs a confirmation`,
      why: 'there is no terminal to ask on',
      fix: `run \`${name} --yes\` to go ahead, or \`${name} --check\` to see the plan`,
      code: 'ECONFIRM',
    });
  }
  const rl = createInterface({ input: stdin, output: stderr });
  const answer = await rl.question('Go ahead? [y/N] ');
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim()))
    throw new UserError({ what: `${name} cancelled`, why: 'you did not confirm', fix: `run \`${name}\` again when ready`, code: 'ECANCELLED' });
}
