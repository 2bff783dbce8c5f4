import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestFor, writePadding } from '../../../rehearsal/app-fixtures.js';
import type { FaultServer } from '../../../rehearsal/fault-server.js';

/** A global node_modules holding @aoagents/ao whose ao-manifest.json carries `app`, as the cutover's app step reads it. */
export async function installedPackage(app: unknown): Promise<string> {
  const globalRoot = await mkdtemp(join(tmpdir(), 'ao-app-step-'));
  await mkdir(join(globalRoot, '@aoagents', 'ao'), { recursive: true });
  await writeFile(
    join(globalRoot, '@aoagents', 'ao', 'ao-manifest.json'),
    JSON.stringify({ schema: 1, name: '@aoagents/ao', version: '0.10.0', binaries: {}, app }),
  );
  return globalRoot;
}

/**
 * A linux-x64 AppImage of `size` bytes served at `path`, and a global install whose manifest names it: what the app
 * step fetches. `dir` holds the artifact; both folders are the caller's to remove.
 */
export async function packageWithApp(server: FaultServer, path: string, size: number) {
  const dir = await mkdtemp(join(tmpdir(), 'ao-app-step-art-'));
  const artifact = join(dir, 'agent-orchestrator-linux-x64.AppImage');
  await writePadding(artifact, size);
  const manifest = await manifestFor(server, artifact, 'AppImage', 'linux-x64', {}, { path });
  return { dir, manifest, globalRoot: await installedPackage(manifest) };
}

/** The environment the app step runs in for a user whose home is `home`: the app under `~/app`, no outside settings. */
export function appStepEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, HOME: home, AO_RUN_FILE: '', AO_APP_DIR: join(home, 'app'), AO_APP_BASE_URL: '', ...extra };
}

/** A step log that presses Ctrl-C (SIGINT, as the terminal's reaches the cutover) at the first line matching `line`. */
export function ctrlCAt(line: RegExp): { log: (text: string) => void; pressed: () => boolean } {
  let pressed = false;
  return {
    log: (text) => {
      if (pressed || !line.test(text)) return;
      pressed = true;
      process.emit('SIGINT', 'SIGINT');
    },
    pressed: () => pressed,
  };
}
