import { describe, expect, it } from 'vitest';
import { fetchAppStep } from '../../../installer/cutover/steps/app.js';

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
});
