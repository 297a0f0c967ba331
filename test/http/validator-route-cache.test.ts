import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

type PathToRegexp = ((path: string, options?: object) => unknown) & { memoised?: true };

// The module instance express-openapi-validator itself resolves, as the patch does.
const requireFromValidator = createRequire(import.meta.resolve('express-openapi-validator'));
const pathToRegexpModule = requireFromValidator('path-to-regexp') as { pathToRegexp: PathToRegexp };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

/** The patterns the validator obtains while the app serves `path` once. */
async function patternsUsedFor(path: string): Promise<unknown[]> {
  const memoised = pathToRegexpModule.pathToRegexp;
  const used: unknown[] = [];
  pathToRegexpModule.pathToRegexp = Object.assign(
    (pattern: string, options?: object) => {
      const compiled = memoised(pattern, options);
      used.push(compiled);
      return compiled;
    },
    { memoised: true as const },
  );
  try {
    const response = await fetch(`${app.baseUrl}${path}`);
    expect(response.status).toBe(200);
  } finally {
    pathToRegexpModule.pathToRegexp = memoised;
  }
  return used;
}

// An upgrade of express-openapi-validator that stops finding routes through this export would
// silently bring back a regexp compilation per route per request; these tests fail instead.
describe('the validator route-regexp memo in the running app', () => {
  it('When the app is built, then the validator resolves the memoised pathToRegexp', () => {
    expect(pathToRegexpModule.pathToRegexp.memoised).toBe(true);
  });

  it('When the same request is served twice, then the validator looks routes up through the memo and compiles nothing the second time', async () => {
    const path = '/v0/users/handle/ada_lovelace/available';
    const first = await patternsUsedFor(path);
    const second = await patternsUsedFor(path);
    expect(first.length).toBeGreaterThan(0);
    expect(second).toHaveLength(first.length);
    second.forEach((pattern, index) => expect(pattern).toBe(first[index]));
  });
});
