import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionLogRow, UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { cookieFrom, createUser } from '../support/factories.ts';
import { codeAt, enableTotpFor, errorCode, getMe, postJson, wrongCode } from './totp-support.ts';

let app: TestApp;

beforeAll(async () => {
  // The per-user failure budget has tests of its own (test/security); a roomy one here keeps
  // these tests on the temp token's own rules.
  app = await startTestApp({ failureBudgets: { factor: { limit: 1000, windowSeconds: 900 } } });
});
afterAll(async () => {
  await app.close();
});

async function createTotpUser(options: { backupCodes?: string[] } = {}) {
  const { user, password } = await createUser(app.deps);
  const totp = await enableTotpFor(app, user.id, options);
  return { user, password: password!, ...totp };
}

/** The password step of a TOTP user: 202 and the temp token. */
async function passwordStep(
  user: { email: string },
  password: string,
  rememberMe = false,
): Promise<string> {
  const response = await postJson(app, '/v0/auth/login', {
    email: user.email,
    password,
    remember_me: rememberMe,
  });
  expect(response.status).toBe(202);
  const body = (await response.json()) as { totp_required: boolean; temp_token: string };
  expect(body.totp_required).toBe(true);
  return body.temp_token;
}

const verify = (tempToken: string, code: string) =>
  postJson(app, '/v0/auth/totp/verify', { temp_token: tempToken, code });

describe('POST /v0/auth/totp/verify', () => {
  it('When a TOTP user logs in and sends a current code, then 202 is followed by 204 and a session that works on /v0/user/me', async () => {
    const { user, password, secret } = await createTotpUser();
    const login = await postJson(app, '/v0/auth/login', { email: user.email, password });
    expect(login.status).toBe(202);
    expect(cookieFrom(login)).toBeUndefined();
    const { temp_token } = (await login.json()) as { temp_token: string };

    const response = await verify(temp_token, await codeAt(secret, 0));
    expect(response.status).toBe(204);
    const cookie = cookieFrom(response)!;
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('session_id='));
    expect(setCookie).not.toMatch(/Max-Age/i);
    const me = await getMe(app, cookie);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: user.id, totp_enabled: true });

    const logs = await app.deps.db
      .write<ActionLogRow>('action_logs')
      .where({ actor_id: user.id, action: 'auth:login' });
    expect(logs).toHaveLength(1);
  });

  it('When the password step asked to be remembered, then the session cookie from verify is persistent', async () => {
    const { user, password, secret } = await createTotpUser();
    const response = await verify(
      await passwordStep(user, password, true),
      await codeAt(secret, 0),
    );
    expect(response.status).toBe(204);
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('session_id='));
    expect(setCookie).toMatch(/; Max-Age=\d+/);
  });

  it('When an accepted TOTP code is sent again with another temp token, then it is refused as totp:invalid_code', async () => {
    const { user, password, secret } = await createTotpUser();
    const first = await passwordStep(user, password);
    const second = await passwordStep(user, password);
    const code = await codeAt(secret, 0);

    expect((await verify(first, code)).status).toBe(204);
    const replay = await verify(second, code);
    expect(replay.status).toBe(400);
    expect(await errorCode(replay)).toBe('totp:invalid_code');
    // The refusal counted as one wrong code; the token still takes a fresh code.
    expect((await verify(second, await codeAt(secret, 1))).status).toBe(204);
  });

  it('When the temp token has already been used, then a second valid code gets totp:temp_token_invalid', async () => {
    const { user, password, secret } = await createTotpUser();
    const token = await passwordStep(user, password);
    expect((await verify(token, await codeAt(secret, 0))).status).toBe(204);
    const again = await verify(token, await codeAt(secret, 1));
    expect(again.status).toBe(400);
    expect(await errorCode(again)).toBe('totp:temp_token_invalid');
  });

  it('When the temp token is unknown, then it answers 400 totp:temp_token_invalid', async () => {
    const response = await verify('not-a-token-the-server-issued', '123456');
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('totp:temp_token_invalid');
  });

  it('When five codes are wrong, then each is 400 and the sixth is 429 and burns the token, so even a right code is refused', async () => {
    const { user, password, secret } = await createTotpUser();
    const token = await passwordStep(user, password);
    const wrong = await wrongCode(secret);
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const response = await verify(token, wrong);
      expect(response.status).toBe(400);
      expect(await errorCode(response)).toBe('totp:invalid_code');
    }
    const sixth = await verify(token, wrong);
    expect(sixth.status).toBe(429);
    expect(await errorCode(sixth)).toBe('totp:too_many_attempts');

    const right = await verify(token, await codeAt(secret, 0));
    expect(right.status).toBe(400);
    expect(await errorCode(right)).toBe('totp:temp_token_invalid');
  });

  it('When a backup code is given in lower case, then it logs in once and the same code is refused afterwards', async () => {
    const { user, password, backupCodes } = await createTotpUser();
    const code = backupCodes[0]!;
    const response = await verify(await passwordStep(user, password), code.toLowerCase());
    expect(response.status).toBe(204);
    expect((await getMe(app, cookieFrom(response)!)).status).toBe(200);

    const reuse = await verify(await passwordStep(user, password), code);
    expect(reuse.status).toBe(400);
    expect(await errorCode(reuse)).toBe('totp:invalid_code');
    const [row] = await app.deps.db.write<UserRow>('users').where({ id: user.id });
    expect(row!.totp_backup_codes).toHaveLength(9);
  });

  it('When 10 concurrent logins send the same backup code, then exactly one gets a session', async () => {
    const { user, password, backupCodes } = await createTotpUser();
    const tokens = await Promise.all(
      Array.from({ length: 10 }, () => passwordStep(user, password)),
    );
    const responses = await Promise.all(tokens.map((token) => verify(token, backupCodes[3]!)));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([204, ...Array<number>(9).fill(400)]);
    const codes = await Promise.all(
      responses.filter((r) => r.status === 400).map((r) => errorCode(r)),
    );
    expect(new Set(codes)).toEqual(new Set(['totp:invalid_code']));
    const [row] = await app.deps.db.write<UserRow>('users').where({ id: user.id });
    expect(row!.totp_backup_codes).toHaveLength(9);
  });

  it('When a backup code is given and none are left, then it answers 401 totp:backup_code_exhausted', async () => {
    const { user, password } = await createTotpUser({ backupCodes: [] });
    const response = await verify(await passwordStep(user, password), 'ABCD2345');
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('totp:backup_code_exhausted');
  });

  it('When the code is malformed, then the contract refuses it with 400 general:validation_error', async () => {
    const { user, password } = await createTotpUser();
    const response = await verify(await passwordStep(user, password), '12345');
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe('general:validation_error');
  });
});
