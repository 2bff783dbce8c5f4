import { builtinModule } from '../common/builtin-module.js';
/**
 * What the launcher and the postinstall need to know about the machine, kept
 * as plain data so the decision logic can be tested with any platform's facts.
 */
export interface HostFacts {
  platform: string;
  arch: string;
  /** x64 Node running under Rosetta 2 on an arm64 Mac. */
  rosetta: boolean;
}

export function hostFacts(): HostFacts {
  return { platform: process.platform, arch: process.arch, rosetta: underRosetta() };
}

/** Asked only on x64 macOS, where a translated process would otherwise pick the slower x64 binary. */
function underRosetta(): boolean {
  if (process.platform !== 'darwin' || process.arch !== 'x64') return false;
  try {
    const { execFileSync } = builtinModule('node:child_process');
    return execFileSync('sysctl', ['-n', 'sysctl.proc_translated'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === '1';
  } catch {
    return false;
  }
}

/** Target ids to try, best first: under Rosetta the native arm64 binary before the x64 one. */
export function preferredTargets(host: HostFacts): string[] {
  const own = `${host.platform}-${host.arch}`;
  return host.rosetta ? [`${host.platform}-arm64`, own] : [own];
}
