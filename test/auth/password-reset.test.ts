import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { accountEmailJobsFor, composeLatestAccountEmail } from '../support/outbox.ts';
import { meStatus as meStatusAt, postAnswer } from '../support/http.ts';
import { createUser, signIn } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (path: string, body: unknown) => postAnswer(app.baseUrl, path, body);

const forgot = (email: string) => post('/v0/auth/forgot-password', { email });
const reset = (token: string, newPassword: string) =>
  post('/v0/auth/reset-password', { token, new_password: newPassword });
const newPassword = () => `new-${randomBytes(12).toString('base64url')}`;

const jobsFor = (email: string) => accountEmailJobsFor(app.deps.db.write, email);
/** What the worker makes of the latest request for the address. */
const composed = (email: string) => composeLatestAccountEmail(app.deps, email);

async function requestResetToken(email: string): Promise<string> {
  expect((await forgot(email)).status).toBe(204);
  const email_ = await composed(email);
  if (email_?.template !== 'password_reset') throw new Error(`no reset email for ${email}`);
  return email_.vars.token;
}

const meStatus = (cookie: string) => meStatusAt(app.baseUrl, cookie);

async function loginStatus(email: string, password: string): Promise<number> {
  return (await post('/v0/auth/login', { email, password })).status;
}

describe('forgot password', () => {
  it('When a user with a password asks, then a request for the lowercased address is queued, and the worker turns it into a password_reset email with a token', async () => {
    const { user } = await createUser(app.deps);

    const response = await forgot(user.email.toUpperCase());

    expect(response).toEqual({ status: 204, body: '' });
    expect(await jobsFor(user.email)).toEqual([{ flow: 'password_reset', email: user.email }]);
    expect(await composed(user.email)).toEqual({
      to: user.email,
      template: 'password_reset',
      vars: {
        token: expect.stringMatching(new RegExp(`^${user.id}\\.[\\w-]{43}$`)) as unknown,
        display_name: user.display_name,
      },
    });
  });

  it('When the email is unknown, then the answer and the work in the request are identical to a known one: one queued job each, and the worker mails nobody (no enumeration, no timing tell)', async () => {
    const { user } = await createUser(app.deps);
    const unknown = `nobody-${randomBytes(6).toString('hex')}@example.test`;

    const known = await forgot(user.email);
    const stranger = await forgot(unknown);

    expect(stranger).toEqual(known);
    expect(stranger).toEqual({ status: 204, body: '' });
    expect(await jobsFor(unknown)).toEqual([{ flow: 'password_reset', email: unknown }]);
    expect(await jobsFor(user.email)).toEqual([{ flow: 'password_reset', email: user.email }]);
    expect(await composed(unknown)).toBeUndefined();
    expect(await composed(user.email)).toMatchObject({ to: user.email });
  });

  it('When the account has no password (OAuth only), then the answer is 204 and the worker mails nothing', async () => {
    const { user } = await createUser(app.deps, { password: null });

    expect(await forgot(user.email)).toEqual({ status: 204, body: '' });
    expect(await jobsFor(user.email)).toHaveLength(1);
    expect(await composed(user.email)).toBeUndefined();
  });

  it.each(['a!b@example.com', 'x@example.c0m'])(
    'When the address %s is one the contract accepts but a stricter check would not, then it is queued like any other (regression: 500)',
    async (email) => {
      expect(await forgot(email)).toEqual({ status: 204, body: '' });
      expect(await jobsFor(email)).toContainEqual({ flow: 'password_reset', email });
    },
  );

  it('When the email is malformed, then 400 general:validation_error', async () => {
    const response = await forgot('not-an-email');

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'general:validation_error' });
  });
});

describe('reset password', () => {
  it('When the token is valid, then the new password logs in and the old one no longer does', async () => {
    const { user, password } = await createUser(app.deps);
    const token = await requestResetToken(user.email);
    const replacement = newPassword();

    expect(await reset(token, replacement)).toEqual({ status: 204, body: '' });

    expect(await loginStatus(user.email, replacement)).toBe(204);
    expect(await loginStatus(user.email, password!)).toBe(401);
    const [row] = await app.deps.db.write<UserRow>('users').where({ id: user.id });
    expect(row?.password).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  it('When the password is reset, then every session of the user ends at once (regression)', async () => {
    const { user, password } = await createUser(app.deps);
    const first = await signIn(app.baseUrl, { email: user.email, password: password! });
    const second = await signIn(app.baseUrl, { email: user.email, password: password! });
    expect([await meStatus(first), await meStatus(second)]).toEqual([200, 200]);
    const token = await requestResetToken(user.email);

    expect((await reset(token, newPassword())).status).toBe(204);

    expect([await meStatus(first), await meStatus(second)]).toEqual([401, 401]);
  });

  it('When a reset token is used a second time, then 400 token:invalid_reset and the password stays the first reset one (regression)', async () => {
    const { user } = await createUser(app.deps);
    const token = await requestResetToken(user.email);
    const first = newPassword();
    expect((await reset(token, first)).status).toBe(204);

    const again = await reset(token, newPassword());

    expect(again).toEqual({
      status: 400,
      body: { status: 400, code: 'token:invalid_reset', details: expect.any(String) as unknown },
    });
    expect(await loginStatus(user.email, first)).toBe(204);
  });

  it('When a new reset token is requested, then the previous one no longer works (regression)', async () => {
    const { user } = await createUser(app.deps);
    const old = await requestResetToken(user.email);
    const current = await requestResetToken(user.email);
    expect(current).not.toBe(old);

    const stale = await reset(old, newPassword());

    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject({ code: 'token:invalid_reset' });
    expect((await reset(current, newPassword())).status).toBe(204);
  });

  it('When the token is unknown, then 400 token:invalid_reset', async () => {
    const response = await reset(randomBytes(32).toString('base64url'), newPassword());

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'token:invalid_reset' });
  });

  it('When the account email changed after the link was mailed, then the link is refused', async () => {
    const { user } = await createUser(app.deps);
    const token = await requestResetToken(user.email);
    await app.deps.db
      .write('users')
      .where({ id: user.id })
      .update({ email: `moved-${user.email}` });

    const response = await reset(token, newPassword());

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'token:invalid_reset' });
  });

  it('When the new password is over 128 characters, then 400 general:validation_error and the token still works (regression)', async () => {
    const { user } = await createUser(app.deps);
    const token = await requestResetToken(user.email);

    const tooLong = await reset(token, 'x'.repeat(129));

    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ code: 'general:validation_error' });
    expect(JSON.stringify(tooLong.body)).toContain('new_password');
    expect((await reset(token, newPassword())).status).toBe(204);
  });

  it('When the new password is under 12 characters, then 400 general:validation_error', async () => {
    const response = await reset(randomBytes(32).toString('base64url'), 'short');

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'general:validation_error' });
  });
});
