import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../common/free-port.js';
import { startEmbeddedRegistry } from '../../release/embedded-registry.js';
import { createSandbox } from '../../rehearsal/sandbox.js';
import { publish, PUBLISH_FILE } from '../../release/publish.js';
import type { StageResult } from '../../release/stage.js';
import { stageFixtureRelease } from '../../rehearsal/release-fixture.js';
import { corruptedCopy, stageDirOf } from './staged-copy.js';

/** A loopback registry that knows no packages and refuses every write with `status`. */
function refusingRegistry(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    const code = req.method === 'GET' ? 404 : status;
    res.writeHead(code, { 'content-type': 'application/json', ...(code === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
    res.end(JSON.stringify({ error: code === 404 ? 'not found' : 'you must be logged in to publish packages' }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server })),
  );
}

describe('publish refuses clearly: bad stage, latest, auth, network', () => {
  let staged: StageResult;
  const servers: Server[] = [];
  beforeAll(async () => {
    staged = await stageFixtureRelease('0.10.0');
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('refuses to publish under latest', async () => {
    const err = await publish({ stageDir: stageDirOf(staged), registry: { url: 'http://127.0.0.1:9/' }, tag: 'latest' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ETAG' });
    expect(err.fix).toContain('then ao-release promote');
    const guarded = await publish({
      stageDir: stageDirOf(staged),
      registry: { url: 'http://127.0.0.1:9/' },
      tag: 'stable',
      guardedTags: ['latest', 'stable'],
    }).catch((e) => e);
    expect(guarded).toMatchObject({ code: 'ETAG', what: 'refusing to publish under the dist-tag "stable"' });
    expect(await publish({ stageDir: stageDirOf(staged), registry: { url: 'http://127.0.0.1:9/' }, tag: 'v1.2.3' }).catch((e) => e.why)).toBe(
      '"v1.2.3" reads as a version range, which npm refuses as a dist-tag',
    );
  });

  it('an unreachable registry: says so, and that a re-run resumes', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    const err = await publish({ stageDir: stageDirOf(staged), registry: { url } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EUNREACHABLE' });
    expect(err.message).toContain(`cannot reach ${url}`);
    expect(err.fix).toContain('check the --registry URL');
  });

  it.each([401, 403])('an auth failure (%i from npm publish): says to log in, records nothing as verified', async (status) => {
    const { url, server } = await refusingRegistry(status);
    servers.push(server);
    const err = await publish({ stageDir: stageDirOf(staged), registry: { url, token: 'wrong' } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EAUTH' });
    expect(err.what).toMatch(new RegExp(`^publishing @aoagents/ao-[a-z0-9-]+@0\\.0\\.0-placeholder on ${url} was refused$`));
    expect(err.fix).toContain(`npm login --registry ${url}`);
    expect(await readdir(stageDirOf(staged))).not.toContain(PUBLISH_FILE);
  });

  it('a registry that requires auth: NODE_AUTH_TOKEN alone is enough, and the EAUTH fix names it', async () => {
    const registry = await startEmbeddedRegistry({ requireAuth: true });
    const sandbox = createSandbox({ name: 'release-auth' });
    try {
      const denied = await publish({ stageDir: stageDirOf(staged), registry: { url: registry.url, env: sandbox.env } }).catch((e) => e);
      expect(denied).toMatchObject({ code: 'EAUTH' });
      expect(denied.fix).toMatch(/^export NODE_AUTH_TOKEN=<a publish token for /);
      const { record } = await publish({
        stageDir: stageDirOf(staged),
        registry: { url: registry.url, env: { ...sandbox.env, NODE_AUTH_TOKEN: registry.authToken } },
      });
      expect(record!.verified).toBe(true);
    } finally {
      sandbox.cleanup();
      await registry.stop();
    }
  });

  it('refuses a stage that fails verification before contacting any registry', async () => {
    const bad = await corruptedCopy(staged, '@aoagents/ao-linux-x64', (dir) => chmod(join(dir, 'bin', 'ao'), 0o644));
    const err = await publish({ stageDir: bad, registry: { url: 'http://127.0.0.1:9/' } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'EVERIFY' });
    expect(err.why).toContain('@aoagents/ao-linux-x64: bin/ao is not executable');
  });
});
