import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashTotpTempToken } from '../../src/modules/auth/totp-temp-token.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import type { ActionLogRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { cookieFrom, createUser, signIn } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const MAX_LIFETIME_SECONDS = 720 * 3600;

function login(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${app.baseUrl}/v0/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function me(cookie: string) {
  return fetch(`${app.baseUrl}/v0/user/me`, { headers: { cookie } });
}

function sessionSetCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith('session_id='));
}

/**
 * CPU milliseconds this process (the app runs in it) spends on a request. argon2 runs on
 * libuv's threadpool, whose threads count too. Unlike wall time, a loaded machine stretches
 * the wait for a core but not the work.
 */
async function cpuMsOf(run: () => Promise<Response>): Promise<number> {
  const before = process.cpuUsage();
  await (await run()).arrayBuffer();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000;
}

describe('POST /v0/auth/login', () => {
  it('When the password is right, then it answers 204 with a browser-session cookie and writes auth:login', async () => {
    const { user, password } = await createUser(app.deps);
    const response = await login({ email: user.email, password });
    expect(response.status).toBe(204);

    const setCookie = sessionSetCookie(response)!;
    expect(setCookie).toMatch(/^session_id=s%3A[A-Za-z0-9_-]{43}\./);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).toMatch(/; Path=\//);
    // The test environment is not development, so the cookie is Secure.
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).not.toMatch(/Max-Age|Expires/i);
    expect((await me(cookieFrom(response)!)).status).toBe(200);

    const logs = await app.deps.db
      .write<ActionLogRow>('action_logs')
      .where({ actor_id: user.id, action: 'auth:login' });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      resource_type: 'user',
      resource_id: user.id,
      actor_ip: '127.0.0.1',
    });
  });

  it('When remember_me is set, then the cookie Max-Age is the remaining absolute lifetime', async () => {
    const { user, password } = await createUser(app.deps);
    const response = await login({ email: user.email, password, remember_me: true });
    expect(response.status).toBe(204);
    const maxAge = Number(/; Max-Age=(\d+)/.exec(sessionSetCookie(response)!)?.[1]);
    expect(maxAge).toBeGreaterThan(MAX_LIFETIME_SECONDS - 10);
    expect(maxAge).toBeLessThanOrEqual(MAX_LIFETIME_SECONDS);
  });

  it('When the email differs only in case, then it still logs in', async () => {
    const { user, password } = await createUser(app.deps);
    const response = await login({ email: user.email.toUpperCase(), password });
    expect(response.status).toBe(204);
  });

  it('When the email is unknown, the password wrong or the account has no password, then the answers are identical (no enumeration)', async () => {
    const { user } = await createUser(app.deps);
    const { user: oauthOnly } = await createUser(app.deps, { password: null });
    const answers = await Promise.all(
      [
        { email: 'nobody-at-all@example.test', password: 'whatever-password' },
        { email: user.email, password: 'whatever-password' },
        { email: oauthOnly.email, password: 'whatever-password' },
      ].map(async (body) => {
        const response = await login(body);
        return { status: response.status, body: await response.json() };
      }),
    );
    const expected = {
      status: 401,
      body: { status: 401, code: 'auth:invalid_credentials', details: 'Invalid email or password' },
    };
    expect(answers).toEqual([expected, expected, expected]);
  });

  it('When the email is unknown, then argon2 work is still spent (constant-time path)', async () => {
    const { user } = await createUser(app.deps);
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      unknown.push(await cpuMsOf(() => login({ email: 'ghost@example.test', password: 'not-it' })));
      wrong.push(await cpuMsOf(() => login({ email: user.email, password: 'not-it' })));
    }
    // The least each costs: a GC pause can only add to a sample.
    expect(Math.min(...unknown)).toBeGreaterThan(Math.min(...wrong) * 0.5);
  });

  it('When the email is not verified, then 403 auth:email_not_verified, but only with the right password', async () => {
    const { user, password } = await createUser(app.deps, { verified_at: null });
    const right = await login({ email: user.email, password });
    expect(right.status).toBe(403);
    expect(await right.json()).toMatchObject({ code: 'auth:email_not_verified' });
    expect(sessionSetCookie(right)).toBeUndefined();

    const wrong = await login({ email: user.email, password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: 'auth:invalid_credentials' });
  });

  it('When the user has TOTP enabled, then 202 with a temp token stored hashed for 5 minutes and no session', async () => {
    const { user, password } = await createUser(app.deps, {
      totp_secret: 'encrypted-secret',
      totp_enabled_at: new Date(),
    });
    const response = await login({ email: user.email, password, remember_me: true });
    expect(response.status).toBe(202);
    expect(sessionSetCookie(response)).toBeUndefined();
    const body = (await response.json()) as { totp_required: boolean; temp_token: string };
    expect(body.totp_required).toBe(true);
    expect(body.temp_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const redis = app.deps.redis.session;
    const key = redisKeys.totpTempToken(hashTotpTempToken(body.temp_token));
    expect(await redis.hgetall(key)).toEqual({
      user_id: user.id,
      remember_me: '1',
      signed_in_with: 'a password',
      attempts: '0',
    });
    expect(await redis.ttl(key)).toBeGreaterThan(290);
    expect(await redis.exists(redisKeys.totpTempToken(body.temp_token))).toBe(0);
    const logs = await app.deps.db.write('action_logs').where({ actor_id: user.id });
    expect(logs).toHaveLength(0);
  });

  it('When a client that already has a session logs in, then it gets a new session id and the old one is dead (no fixation)', async () => {
    const { user, password } = await createUser(app.deps);
    const first = await signIn(app.baseUrl, { email: user.email, password: password! });
    const response = await login({ email: user.email, password }, { cookie: first });
    expect(response.status).toBe(204);
    const second = cookieFrom(response)!;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect((await me(first)).status).toBe(401);
    expect((await me(second)).status).toBe(200);
  });

  it('When the password is over 128 characters, then it is refused as a validation error before any hashing', async () => {
    const { user } = await createUser(app.deps);
    const response = await login({ email: user.email, password: 'x'.repeat(129) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; details: string };
    expect(body.code).toBe('general:validation_error');
    expect(body.details).toContain('body.password');
  });
});
