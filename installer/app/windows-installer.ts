import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UserError } from '../../common/errors.js';
import { windowsInstalledApp } from './app-state.js';

/**
 * The Windows app ships as an NSIS installer (`agent-orchestrator-win32-x64.exe`).
 * After its bytes are verified it is run silently, per user, as the rewrite's
 * own `ao start` does; the app lands under %LOCALAPPDATA%\Programs.
 * Not exercised here (no Windows host): the command line is unit-tested.
 */
export interface InstallerCommand {
  file: string;
  args: string[];
}

/** `/S`: NSIS silent mode (no UI, default per-user folder). */
export function nsisInstallCommand(installer: string): InstallerCommand {
  return { file: installer, args: ['/S'] };
}

export async function runWindowsInstaller(installer: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (process.platform !== 'win32') {
    throw new UserError({
      what: 'cannot run the Windows desktop app installer here',
      why: `this is ${process.platform}; the NSIS installer runs only on Windows`,
      fix: 'run ao-app install on the Windows machine (or pass --target for this platform)',
      code: 'EAPPTARGET',
    });
  }
  if (!env.LOCALAPPDATA) {
    throw new UserError({
      what: 'cannot tell where the desktop app installs',
      why: 'LOCALAPPDATA is not set',
      fix: 'run ao-app install from a normal Windows user session',
      code: 'EAPPINSTALL',
    });
  }
  const { file, args } = nsisInstallCommand(installer);
  try {
    await promisify(execFile)(file, args, { windowsHide: true, timeout: 10 * 60_000 });
  } catch (cause) {
    throw new UserError({
      what: 'the desktop app installer failed',
      why: (cause as Error).message,
      fix: 'run ao-app install again; if it fails again, run the verified installer by hand from the downloads folder',
      code: 'EAPPINSTALL',
      cause,
    });
  }
  return windowsInstalledApp(env.LOCALAPPDATA);
}
