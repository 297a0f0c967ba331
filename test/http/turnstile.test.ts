import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/app.ts';
import { ConfigError } from '../../src/config/env-schema.ts';
import { productionEnv } from '../support/production-env.ts';
import { loadServerConfig } from '../../src/config/server.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { startSiteverifyServer, type SiteverifyServer } from '../support/siteverify-server.ts';

const SECRET = 'test-turnstile-secret';
// Bounds every guarded call of this file, so it leaves room for a loaded machine.
const TIMEOUT_MS = 1000;

let redis: PrivateRedis;
let admin: Redis;
let siteverify: SiteverifyServer;
let guarded: TestApp;
let unguarded: TestApp;

beforeAll(async () => {
  redis = await createPrivateRedis();
  await redis.start();
  admin = new Redis(redis.url);
  siteverify = await startSiteverifyServer();
  const env = { ...process.env, REDIS_SESSION_URL: redis.url, TURNSTILE_SECRET_KEY: '' };
  // forgotPassword gets a limit of one so a test can show the limit runs before Turnstile.
  const options: AppOptions = {
    rateLimits: (operationId, declared) =>
      operationId === 'forgotPassword' ? { ...declared, limit: 1, windowSeconds: 60 } : declared,
  };
  guarded = await startTestApp(
    { turnstile: { secretKey: SECRET, verifyUrl: siteverify.url, timeoutMs: TIMEOUT_MS } },
    env,
    options,
  );
  unguarded = await startTestApp({ turnstile: { verifyUrl: siteverify.url } }, env, options);
});

afterAll(async () => {
  await guarded.close();
  await unguarded.close();
  await siteverify.close();
  admin.disconnect();
  await redis.stop();
});

// The declared limits apply (3 resends an hour per IP): each test starts from an empty Redis.
beforeEach(async () => {
  siteverify.behaviour = 'success';
  siteverify.calls.length = 0;
  await admin.flushall();
});

async function call(app: TestApp, path: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['x-turnstile-token'] = token;
  const started = Date.now();
  const response = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    code: text ? (JSON.parse(text) as { code?: string }).code : undefined,
    elapsedMs: Date.now() - started,
  };
}

const resend = (app: TestApp, token?: string) =>
  call(app, '/v0/auth/resend-verification-email', { email: 'nobody@example.com' }, token);
/** Status and code alone, so an answer the operation itself gives is asserted exactly. */
const answer = ({ status, code }: { status: number; code?: string }) => ({ status, code });
const NO_CONTENT = { status: 204, code: undefined };

describe('Turnstile on operations marked x-turnstile', () => {
  it('When the token header is missing, then it answers 400 turnstile:token_missing without calling Cloudflare', async () => {
    expect(await resend(guarded)).toMatchObject({ status: 400, code: 'turnstile:token_missing' });
    expect(siteverify.calls).toEqual([]);
  });

  it('When siteverify accepts the token, then the request goes on, having sent the secret, the token and the client IP', async () => {
    expect(answer(await resend(guarded, 'token-ok'))).toEqual(NO_CONTENT);
    expect(siteverify.calls).toEqual([
      { secret: SECRET, response: 'token-ok', remoteip: '127.0.0.1' },
    ]);
  });

  it('When siteverify rejects the token, then it answers 403 turnstile:verification_failed', async () => {
    siteverify.behaviour = 'failure';
    expect(await resend(guarded, 'token-bad')).toMatchObject({
      status: 403,
      code: 'turnstile:verification_failed',
    });
  });

  it('When siteverify fails with a 500 or answers something that is not a verdict, then it answers 503 turnstile:service_error', async () => {
    siteverify.behaviour = 'error';
    expect(await resend(guarded, 'token')).toMatchObject({
      status: 503,
      code: 'turnstile:service_error',
    });
    siteverify.behaviour = 'malformed';
    expect(await resend(guarded, 'token')).toMatchObject({
      status: 503,
      code: 'turnstile:service_error',
    });
    expect(siteverify.calls).toHaveLength(2);
  });

  it('When siteverify is unreachable, then it answers 503 turnstile:service_error', async () => {
    siteverify.behaviour = 'reset';
    expect(await resend(guarded, 'token')).toMatchObject({
      status: 503,
      code: 'turnstile:service_error',
    });
  });

  it('When siteverify never answers, then it answers 503 turnstile:service_error once the timeout passes', async () => {
    siteverify.behaviour = 'hang';
    const result = await resend(guarded, 'token');
    expect(result).toMatchObject({ status: 503, code: 'turnstile:service_error' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(result.elapsedMs).toBeLessThan(TIMEOUT_MS * 5);
  });

  it('When no TURNSTILE_SECRET_KEY is set, then no token is asked for and Cloudflare is not called', async () => {
    expect(answer(await resend(unguarded))).toEqual(NO_CONTENT);
    expect(siteverify.calls).toEqual([]);
  });

  it('When an operation is not marked x-turnstile, then it needs no token', async () => {
    const result = await call(guarded, '/v0/auth/reset-password', {
      token: 'bogus',
      new_password: 'long enough pass',
    });
    expect(answer(result)).toEqual({ status: 400, code: 'token:invalid_reset' });
    expect(siteverify.calls).toEqual([]);
  });

  it('When the rate limit is reached, then the request is refused before Cloudflare is called', async () => {
    const body = { email: 'nobody@example.com' };
    expect(answer(await call(guarded, '/v0/auth/forgot-password', body, 't1'))).toEqual(NO_CONTENT);
    const refused = await call(guarded, '/v0/auth/forgot-password', body, 't2');
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit:exceeded' });
    expect(siteverify.calls.map((c) => c.response)).toEqual(['t1']);
  });
});

describe('Turnstile configuration', () => {
  it('When production is given one of Cloudflare test secrets, then the configuration is refused', () => {
    const env = {
      ...productionEnv,
      TURNSTILE_SECRET_KEY: '1x0000000000000000000000000000000AA',
    };
    let problems: string[] = [];
    try {
      loadServerConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toContain(
      'TURNSTILE_SECRET_KEY: is a Cloudflare test key; use the site secret',
    );
  });

  it('When nothing is set, then Turnstile is off and points at Cloudflare with a 5 s timeout', () => {
    expect(loadServerConfig({}).turnstile).toEqual({
      secretKey: undefined,
      verifyUrl: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      timeoutMs: 5000,
    });
  });
});
