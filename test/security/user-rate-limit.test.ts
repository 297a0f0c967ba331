import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRouter } from '../../src/http/router.ts';
import { route } from '../../src/http/typed-handler.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createSignedInUser, signIn } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import { enableTotpFor, wrongCode } from '../totp/totp-support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(
    // A roomy failure budget, so what refuses here is the rate limit alone.
    { failureBudgets: { factor: { limit: 1000, windowSeconds: 900 } } },
    process.env,
    {
      rateLimits: (operationId, declared) =>
        operationId === 'totpRegenerateBackupCodes'
          ? { ...declared, limit: 2, windowSeconds: 60 }
          : { ...declared, limit: 100_000 },
    },
  );
});
afterAll(async () => {
  await app.close();
});

const REGENERATE = '/v0/auth/totp/backup-codes/regenerate';
const codeOf = (answer: { body: unknown }) => (answer.body as { code?: string }).code;

describe('x-rate-limit with key: user', () => {
  it('When one user calls through two sessions and two client ids, then they share one window, and another user has their own', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const other = await signIn(app.baseUrl, { email: user.email, password: password! });
    const { secret } = await enableTotpFor(app, user.id);
    const wrong = await wrongCode(secret);

    const first = await postJson(app.baseUrl, REGENERATE, { code: wrong }, cookie);
    expect([first.status, codeOf(first)]).toEqual([400, 'totp:invalid_code']);
    expect(first.response.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.response.headers.get('x-ratelimit-remaining')).toBe('1');
    const second = await postJson(app.baseUrl, REGENERATE, { code: wrong }, other);
    expect([second.status, codeOf(second)]).toEqual([400, 'totp:invalid_code']);
    const third = await postJson(app.baseUrl, REGENERATE, { code: wrong }, cookie);
    expect([third.status, codeOf(third)]).toEqual([429, 'rate_limit:exceeded']);
    expect(Number(third.response.headers.get('retry-after'))).toBeGreaterThan(0);

    const someoneElse = await createSignedInUser(app.deps, app.baseUrl);
    const theirs = await enableTotpFor(app, someoneElse.user.id);
    const answer = await postJson(
      app.baseUrl,
      REGENERATE,
      { code: await wrongCode(theirs.secret) },
      someoneElse.cookie,
    );
    expect([answer.status, codeOf(answer)]).toEqual([400, 'totp:invalid_code']);
  });

  it('When the caller has no session, then it answers 401 before any limit is counted', async () => {
    const answer = await postJson(app.baseUrl, REGENERATE, { code: '123456' });
    expect([answer.status, codeOf(answer)]).toEqual([401, 'auth:unauthorized']);
    expect(answer.response.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('x-rate-limit with key: user, at start-up and while pending', () => {
  it('When an operation limited per user is routed without requireSession, then building the router fails', () => {
    const unguarded = route('totpRegenerateBackupCodes', async () => ({
      status: 200,
      body: { backup_codes: [] },
    }));
    expect(() =>
      buildRouter([unguarded], [], { rateLimit: () => (_req, _res, next) => next() }),
    ).toThrow('totpRegenerateBackupCodes is limited per user but has no requireSession');
  });

  it('When an operation limited per user is pending, then it answers 501, not a 500 over the missing user', async () => {
    const stubbed = await startTestApp({}, process.env, { pending: ['totpRegenerateBackupCodes'] });
    try {
      const answer = await postJson(stubbed.baseUrl, REGENERATE, { code: '123456' });
      expect([answer.status, codeOf(answer)]).toEqual([501, 'system:not_implemented']);
    } finally {
      await stubbed.close();
    }
  });
});
