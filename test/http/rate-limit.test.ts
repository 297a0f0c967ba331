import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/app.ts';
import { buildRouter } from '../../src/http/router.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { sleep } from '../support/wait.ts';

// Small limits on two operations; each test starts from an empty Redis of this file's own.
// totpVerify's window is short enough to wait out, and still far longer than three requests.
const TOTP_WINDOW_SECONDS = 2;
const limits: AppOptions['rateLimits'] = (operationId, declared) => {
  if (operationId === 'resetPassword') return { ...declared, limit: 3, windowSeconds: 60 };
  if (operationId === 'totpVerify') {
    return { ...declared, limit: 2, windowSeconds: TOTP_WINDOW_SECONDS };
  }
  return declared;
};

let redis: PrivateRedis;
let admin: Redis;
let app: TestApp;
let proxied: TestApp;

beforeAll(async () => {
  redis = await createPrivateRedis();
  await redis.start();
  admin = new Redis(redis.url);
  const env = { ...process.env, REDIS_SESSION_URL: redis.url };
  app = await startTestApp({}, env, { rateLimits: limits });
  proxied = await startTestApp({ http: { trustProxy: ['loopback'] } }, env, { rateLimits: limits });
});

afterAll(async () => {
  await app.close();
  await proxied.close();
  admin.disconnect();
  await redis.stop();
});

beforeEach(async () => {
  await admin.flushall();
});

interface Call {
  /** The client's anonymous id; a fresh one when omitted, as a client without cookies gets. */
  anonymousId?: string;
  forwardedFor?: string;
  body?: unknown;
}

async function post(target: TestApp, path: string, defaultBody: unknown, call: Call) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    cookie: `anonymous_user_id=${call.anonymousId ?? uuidv7()}`,
  };
  if (call.forwardedFor) headers['x-forwarded-for'] = call.forwardedFor;
  const response = await fetch(`${target.baseUrl}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(call.body ?? defaultBody),
  });
  const text = await response.text();
  const header = (name: string) => response.headers.get(name);
  return {
    status: response.status,
    code: text ? (JSON.parse(text) as { code?: string }).code : undefined,
    limit: header('x-ratelimit-limit'),
    remaining: header('x-ratelimit-remaining'),
    reset: header('x-ratelimit-reset'),
    retryAfter: header('retry-after'),
  };
}

// Both operations refuse a bogus token with their own 400, which only a request that got past
// the limiter can reach.
const resetPassword = (call: Call = {}, target = app) =>
  post(
    target,
    '/v0/auth/reset-password',
    { token: 'bogus', new_password: 'long enough pass' },
    call,
  );
const totpVerify = (call: Call = {}) =>
  post(app, '/v0/auth/totp/verify', { temp_token: 'bogus', code: '123456' }, call);
const RESET_ADMITTED = { status: 400, code: 'token:invalid_reset' };
const TOTP_ADMITTED = { status: 400, code: 'totp:temp_token_invalid' };

async function commandCalls(): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  return Object.fromEntries(
    [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
}

describe('rate limiting', () => {
  it('When requests stay under the limit, then each carries the limit and a Remaining that counts down', async () => {
    const anonymousId = uuidv7();
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await resetPassword({ anonymousId }));
    for (const result of results) expect(result).toMatchObject(RESET_ADMITTED);
    expect(results.map((r) => r.limit)).toEqual(['3', '3', '3']);
    expect(results.map((r) => r.remaining)).toEqual(['2', '1', '0']);
    for (const { reset } of results) expect(Number(reset)).toBeGreaterThanOrEqual(59);
  });

  it('When the limit is passed, then it answers 429 rate_limit:exceeded with Retry-After and every X-RateLimit header', async () => {
    const anonymousId = uuidv7();
    for (let i = 0; i < 3; i++) {
      expect(await resetPassword({ anonymousId })).toMatchObject(RESET_ADMITTED);
    }
    const refused = await resetPassword({ anonymousId });
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit:exceeded' });
    expect(refused).toMatchObject({ limit: '3', remaining: '0' });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(59);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.reset).toBe(refused.retryAfter);
  });

  it('When the window has passed, then the client is admitted again', async () => {
    const anonymousId = uuidv7();
    expect(await totpVerify({ anonymousId })).toMatchObject(TOTP_ADMITTED);
    expect(await totpVerify({ anonymousId })).toMatchObject(TOTP_ADMITTED);
    const refused = await totpVerify({ anonymousId });
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit:exceeded' });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(TOTP_WINDOW_SECONDS);

    // Past the window for both earlier hits, however long they took to arrive.
    await sleep(TOTP_WINDOW_SECONDS * 1000 + 100);
    expect(await totpVerify({ anonymousId })).toMatchObject({ ...TOTP_ADMITTED, remaining: '1' });
  });

  it('When the client drops its anonymous cookie for a new one each time, then the IP limit still stops it', async () => {
    for (let i = 0; i < 3; i++) expect(await resetPassword()).toMatchObject(RESET_ADMITTED);
    expect((await resetPassword()).status).toBe(429);
  });

  it('When TRUST_PROXY is unset and the client forges X-Forwarded-For, then it does not escape the IP limit', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await resetPassword({ forwardedFor: `203.0.113.${i}` })).toMatchObject(RESET_ADMITTED);
    }
    const refused = await resetPassword({ forwardedFor: '198.51.100.7' });
    expect(refused.status).toBe(429);
  });

  it('When clients behind a trusted proxy have distinct addresses, then each has its own IP window', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await resetPassword({ forwardedFor: `203.0.113.${i}` }, proxied);
      expect(result).toMatchObject({ ...RESET_ADMITTED, remaining: '2' });
    }
  });

  it('When one anonymous id comes from many addresses, then its own limit stops it', async () => {
    const anonymousId = uuidv7();
    for (let i = 0; i < 3; i++) {
      expect(
        await resetPassword({ anonymousId, forwardedFor: `203.0.113.${i}` }, proxied),
      ).toMatchObject(RESET_ADMITTED);
    }
    const refused = await resetPassword({ anonymousId, forwardedFor: '198.51.100.7' }, proxied);
    expect(refused).toMatchObject({ status: 429, remaining: '0' });
  });

  it('When requests fail validation, then they spend no quota', async () => {
    const anonymousId = uuidv7();
    for (let i = 0; i < 4; i++) {
      const invalid = await resetPassword({ anonymousId, body: { token: 'bogus' } });
      expect(invalid).toMatchObject({ status: 400, code: 'general:validation_error', limit: null });
    }
    expect(await resetPassword({ anonymousId })).toMatchObject({
      ...RESET_ADMITTED,
      remaining: '2',
    });
  });

  it('When one operation is exhausted, then another operation keeps its own window', async () => {
    for (let i = 0; i < 4; i++) await resetPassword();
    expect(await totpVerify()).toMatchObject({ ...TOTP_ADMITTED, limit: '2', remaining: '1' });
  });

  it('When many requests are limited, then the script is sent once and run by its SHA, and reloaded after a SCRIPT FLUSH', async () => {
    await resetPassword();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 3; i++) await resetPassword();
    let calls = await commandCalls();
    expect(calls.evalsha).toBe(3);
    expect(calls.eval).toBeUndefined();
    expect(calls['script|load']).toBeUndefined();

    await admin.script('FLUSH');
    await admin.config('RESETSTAT');
    expect(await totpVerify()).toMatchObject(TOTP_ADMITTED);
    expect(await totpVerify()).toMatchObject(TOTP_ADMITTED);
    calls = await commandCalls();
    // The first verify finds neither of its scripts (the limiter's and the temp token's) and
    // sends each body once, which loads it; the second runs both by SHA.
    expect(calls.eval).toBe(2);
    expect(calls['script|load']).toBeUndefined();
  });

  it('When Redis is down, then limited operations fail closed with 503, and recover when it is back', async () => {
    await redis.stop();
    const down = await resetPassword();
    expect(down).toMatchObject({ status: 503, code: 'system:dependency_unavailable' });

    await redis.start();
    const deadline = Date.now() + 10_000;
    let back = await resetPassword();
    while (back.status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await resetPassword();
    }
    expect(back).toMatchObject({ ...RESET_ADMITTED, limit: '3', remaining: '2' });
  });
});

describe('wiring from the contract', () => {
  it('When an operation declares x-rate-limit and no limiter is given, then building the router fails', () => {
    expect(() => buildRouter([], ['login'], { turnstile: null })).toThrow(
      'Operation login declares x-rate-limit; no limiter given',
    );
  });

  it('When an operation declares x-turnstile and no check is given, then building the router fails', () => {
    const rateLimit = () => () => undefined;
    expect(() => buildRouter([], ['createUser'], { rateLimit })).toThrow(
      'Operation createUser declares x-turnstile; no check given',
    );
    expect(() => buildRouter([], ['createUser'], { rateLimit, turnstile: null })).not.toThrow();
  });
});
