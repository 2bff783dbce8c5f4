import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostTargetId } from '../../../common/app-manifest.js';
import { fetchAppStep, installedPackageAppFetcher } from '../../../installer/cutover/steps/app.js';

describe("the cutover's app step", () => {
  // ao update prints this reason and keeps it in its journal; ao-app's own output is redacted the same way.
  it('a failed fetch is reported without the password or token its download URL carried', async () => {
    const outcome = await fetchAppStep(
      async () => {
        throw new Error('cannot download the desktop app https://alice:s3cretPW@mirror.example/app.zip?token=T0KEN42: it answered 500');
      },
      { home: '/nonexistent', env: {}, log: () => undefined },
    );
    expect(outcome).toMatchObject({ status: 'failed', later: 'ao-app install' });
    const { reason } = outcome as { reason: string };
    expect(reason).toContain('https://alice:***@mirror.example/app.zip?token=***');
    expect(reason).not.toMatch(/s3cretPW|T0KEN42/);
  });

  // The real release ships no linux-arm64 or win32-arm64 app: ao update there had "failed" and told the user to run
  // ao-app install later, which can only fail the same way.
  it('a release with no app for this platform is skipped, saying so, with no command to run later', async () => {
    const globalRoot = await mkdtemp(join(tmpdir(), 'ao-app-step-'));
    try {
      const other = hostTargetId() === 'darwin-arm64' ? 'linux-x64' : 'darwin-arm64';
      await mkdir(join(globalRoot, '@aoagents', 'ao'), { recursive: true });
      const target = {
        file: 'app.zip',
        format: 'zip',
        urls: ['https://downloads.invalid/app.zip'],
        size: 1,
        integrity: `sha512-${'A'.repeat(86)}==`,
        unpackedSizeLimit: 1 << 20,
      };
      await writeFile(
        join(globalRoot, '@aoagents', 'ao', 'ao-manifest.json'),
        JSON.stringify({
          schema: 1,
          name: '@aoagents/ao',
          version: '0.10.0',
          binaries: {},
          app: { schema: 1, version: '0.10.0', targets: { [other]: target } },
        }),
      );
      const home = join(globalRoot, 'home');
      const outcome = await fetchAppStep(installedPackageAppFetcher({ name: 'npm', globalRoot }), {
        home,
        env: { ...process.env, HOME: home, AO_APP_DIR: join(home, 'app'), AO_APP_BASE_URL: '' },
        log: () => undefined,
      });
      expect(outcome).toEqual({ status: 'skipped', reason: expect.stringContaining(`there is no desktop app for this platform (${hostTargetId()})`) });
    } finally {
      await rm(globalRoot, { recursive: true, force: true });
    }
  });
});
