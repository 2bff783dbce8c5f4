import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inYarnZip } from '../../postinstall/resolve.js';

describe('a package inside a zip that Yarn PnP opens', () => {
  // What Yarn PnP's runtime sets; the test process has no PnP of its own.
  beforeAll(() => Object.defineProperty(process.versions, 'pnp', { value: '3', configurable: true }));
  afterAll(() => Reflect.deleteProperty(process.versions, 'pnp'));

  it("is one in Yarn's cache zip", () => {
    expect(inYarnZip('/home/u/.yarn/berry/cache/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e-10c0.zip/node_modules/@aoagents/ao-linux-x64')).toBe(true);
  });

  // Refused as zipped on every call, with a fix (unplug it) that changes nothing.
  it('is not one unplugged into a project whose folder is named like a zip', () => {
    expect(inYarnZip('/home/u/work/app.zip/.yarn/unplugged/@aoagents-ao-linux-x64-npm-0.10.0-43951c742e/node_modules/@aoagents/ao-linux-x64')).toBe(false);
  });
});
