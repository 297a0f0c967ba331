import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createSignedInUser, signIn } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import { eventually } from '../support/wait.ts';
import { codeAt, enableTotpFor, wrongCode } from '../totp/totp-support.ts';

let app: TestApp;
// Budgets with a 60 s window: long enough that no lock lapses while a loaded machine is still
// sending the wrong answers, short enough that its TTL is told apart from the default 900 s.
let shortWindow: TestApp;

beforeAll(async () => {
  app = await startTestApp();
  shortWindow = await startTestApp({
    failureBudgets: {
      factor: { limit: 5, windowSeconds: 60 },
      password: { limit: 5, windowSeconds: 60 },
    },
  });
});
afterAll(async () => {
  await app.close();
  await shortWindow.close();
});

const REGENERATE = '/v0/auth/totp/backup-codes/regenerate';

async function totpUser(target: TestApp = app) {
  const { user, password, cookie } = await createSignedInUser(target.deps, target.baseUrl);
  const { secret } = await enableTotpFor(target, user.id);
  return { user, password: password!, cookie, secret };
}

const codeOf = (answer: { body: unknown }) => (answer.body as { code?: string }).code;
const sessionCookies = (answer: { response: Response }) =>
  answer.response.headers.getSetCookie().filter((cookie) => cookie.startsWith('session_id='));

/** How many answers of each `status code` kind, e.g. { '400 totp:invalid_code': 5 }. */
function tally(answers: { status: number; body: unknown }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const kind = `${answer.status} ${codeOf(answer) ?? ''}`.trim();
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

describe('the second-factor failure budget', () => {
  it('When a stolen session sends 30 wrong codes to regenerate at once, then at most 5 are checked, the rest answer 429 with Retry-After, and the right code is refused while locked', async () => {
    const { cookie, secret } = await totpUser();
    const wrong = await wrongCode(secret);

    const answers = await Promise.all(
      Array.from({ length: 30 }, () => postJson(app.baseUrl, REGENERATE, { code: wrong }, cookie)),
    );
    expect(tally(answers)).toEqual({
      '400 totp:invalid_code': 5,
      '429 totp:too_many_attempts': 25,
    });
    const locked = answers.find((answer) => answer.status === 429)!;
    const retryAfter = Number(locked.response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);

    const right = await postJson(
      app.baseUrl,
      REGENERATE,
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(right.status).toBe(429);
    expect(codeOf(right)).toBe('totp:too_many_attempts');
  });

  it('When wrong codes come through two sessions of one user, then they share one budget, and disable and the verify step of a new login are locked too', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const other = await signIn(app.baseUrl, { email: user.email, password: password! });
    const { secret } = await enableTotpFor(app, user.id);
    const wrong = await wrongCode(secret);

    for (const session of [cookie, other, cookie, other, cookie]) {
      const answer = await postJson(app.baseUrl, REGENERATE, { code: wrong }, session);
      expect(answer.status).toBe(400);
      expect(codeOf(answer)).toBe('totp:invalid_code');
    }

    const right = await codeAt(secret, 0);
    const disable = await postJson(app.baseUrl, '/v0/auth/totp/disable', { code: right }, other);
    expect([disable.status, codeOf(disable)]).toEqual([429, 'totp:too_many_attempts']);

    // A fresh password login gets a temp token, but its code check is locked too.
    const login = await postJson(app.baseUrl, '/v0/auth/login', {
      email: user.email,
      password: password!,
    });
    expect(login.status).toBe(202);
    const { temp_token } = login.body as { temp_token: string };
    const verify = await postJson(app.baseUrl, '/v0/auth/totp/verify', { temp_token, code: right });
    expect([verify.status, codeOf(verify)]).toEqual([429, 'totp:too_many_attempts']);
    expect(sessionCookies(verify)).toEqual([]);
  });

  it('When a user spends the budget, then another user with TOTP is not affected', async () => {
    const victim = await totpUser();
    const bystander = await totpUser();
    const wrong = await wrongCode(victim.secret);
    for (let i = 0; i < 6; i++) {
      await postJson(app.baseUrl, REGENERATE, { code: wrong }, victim.cookie);
    }

    const answer = await postJson(
      app.baseUrl,
      REGENERATE,
      { code: await codeAt(bystander.secret, 0) },
      bystander.cookie,
    );
    expect(answer.status).toBe(200);
    expect((answer.body as { backup_codes: string[] }).backup_codes).toHaveLength(10);
  });

  it('When the right code is given, then it spends nothing: only wrong codes count towards the lock', async () => {
    const { user, cookie, secret } = await totpUser();
    const wrong = await wrongCode(secret);
    for (let i = 0; i < 4; i++) await postJson(app.baseUrl, REGENERATE, { code: wrong }, cookie);

    const right = await postJson(
      app.baseUrl,
      REGENERATE,
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(right.status).toBe(200);
    expect(await app.deps.redis.session.get(redisKeys.failureBudget('totp', user.id))).toBe('4');

    const fifth = await postJson(app.baseUrl, REGENERATE, { code: wrong }, cookie);
    expect([fifth.status, codeOf(fifth)]).toEqual([400, 'totp:invalid_code']);
    const next = await postJson(app.baseUrl, REGENERATE, { code: await codeAt(secret, 1) }, cookie);
    expect([next.status, codeOf(next)]).toEqual([429, 'totp:too_many_attempts']);
  });

  it('When the window has passed, then the right code works again', async () => {
    const { user, cookie, secret } = await totpUser(shortWindow);
    const wrong = await wrongCode(secret);
    for (let i = 0; i < 6; i++) {
      await postJson(shortWindow.baseUrl, REGENERATE, { code: wrong }, cookie);
    }
    const key = redisKeys.failureBudget('totp', user.id);
    const redis = shortWindow.deps.redis.session;
    // The lock lasts the configured window, no longer.
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(60_000);
    const locked = await postJson(
      shortWindow.baseUrl,
      REGENERATE,
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(locked.status).toBe(429);

    // The window passing is the key expiring; the TTL it expires by was checked above.
    await redis.pexpire(key, 1);
    await eventually(async () => (await redis.exists(key)) === 0, 15_000);
    const answer = await postJson(
      shortWindow.baseUrl,
      REGENERATE,
      { code: await codeAt(secret, 1) },
      cookie,
    );
    expect(answer.status).toBe(200);
  });
});

describe('the temp token', () => {
  // A budget far above the token's own cap, so what is measured here is the token's.
  let roomyBudget: TestApp;
  beforeAll(async () => {
    roomyBudget = await startTestApp({
      failureBudgets: { factor: { limit: 1000, windowSeconds: 900 } },
    });
  });
  afterAll(async () => {
    await roomyBudget.close();
  });

  it('When 20 wrong codes race on one temp token, then at most 5 are checked, and the right code on that token is refused afterwards', async () => {
    const { user, password, secret } = await totpUser(roomyBudget);
    const login = await postJson(roomyBudget.baseUrl, '/v0/auth/login', {
      email: user.email,
      password,
    });
    const { temp_token } = login.body as { temp_token: string };
    const wrong = await wrongCode(secret);

    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        postJson(roomyBudget.baseUrl, '/v0/auth/totp/verify', { temp_token, code: wrong }),
      ),
    );
    const counts = tally(answers);
    expect(counts['400 totp:invalid_code']).toBe(5);
    // One attempt burns the token (429); any later ones find it gone (400).
    expect(counts['429 totp:too_many_attempts']).toBe(1);
    expect(counts['400 totp:temp_token_invalid']).toBe(14);

    const right = await postJson(roomyBudget.baseUrl, '/v0/auth/totp/verify', {
      temp_token,
      code: await codeAt(secret, 0),
    });
    expect([right.status, codeOf(right)]).toEqual([400, 'totp:temp_token_invalid']);
    expect(sessionCookies(right)).toEqual([]);
  });
});

describe('the re-authentication password budget', () => {
  it('When a stolen session guesses the password on change-password, then after 5 wrong ones the right one is refused with 429, on change-email too', async () => {
    const { password, cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const guesses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        postJson(
          app.baseUrl,
          '/v0/auth/change-password',
          { current_password: `wrong guess number ${i}`, new_password: 'a brand new passphrase' },
          cookie,
        ),
      ),
    );
    expect(tally(guesses)).toEqual({
      '400 password:incorrect': 5,
      '429 password:too_many_attempts': 7,
    });
    expect(
      Number(guesses.find((g) => g.status === 429)!.response.headers.get('retry-after')),
    ).toBeGreaterThan(0);

    const right = await postJson(
      app.baseUrl,
      '/v0/auth/change-password',
      { current_password: password, new_password: 'a brand new passphrase' },
      cookie,
    );
    expect([right.status, codeOf(right)]).toEqual([429, 'password:too_many_attempts']);
    const email = await postJson(
      app.baseUrl,
      '/v0/auth/change-email',
      { password, new_email: `moved-${Date.now()}@example.com` },
      cookie,
    );
    expect([email.status, codeOf(email)]).toEqual([429, 'password:too_many_attempts']);
  });

  it('When the password window has passed, then the right password changes it', async () => {
    const { user, password, cookie } = await createSignedInUser(
      shortWindow.deps,
      shortWindow.baseUrl,
    );
    for (let i = 0; i < 6; i++) {
      await postJson(
        shortWindow.baseUrl,
        '/v0/auth/change-password',
        { current_password: `wrong ${i}`, new_password: 'a brand new passphrase' },
        cookie,
      );
    }
    const locked = await postJson(
      shortWindow.baseUrl,
      '/v0/auth/change-password',
      { current_password: password, new_password: 'a brand new passphrase' },
      cookie,
    );
    expect([locked.status, codeOf(locked)]).toEqual([429, 'password:too_many_attempts']);
    const key = redisKeys.failureBudget('password', user.id);
    const redis = shortWindow.deps.redis.session;
    expect(await redis.pttl(key)).toBeLessThanOrEqual(60_000);
    await redis.pexpire(key, 1);
    await eventually(async () => (await redis.exists(key)) === 0, 15_000);

    const answer = await postJson(
      shortWindow.baseUrl,
      '/v0/auth/change-password',
      { current_password: password, new_password: 'a brand new passphrase' },
      cookie,
    );
    expect(answer.status).toBe(204);
  });
});
