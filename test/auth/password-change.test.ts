import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { emailJobsTo as outboxEmailJobsTo } from '../support/outbox.ts';
import { meStatus as meStatusAt, postAnswer } from '../support/http.ts';
import { createSignedInUser, signIn } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (path: string, body: unknown, cookie?: string) =>
  postAnswer(app.baseUrl, path, body, cookie);

const changePassword = (cookie: string, current: string, next: string) =>
  post('/v0/auth/change-password', { current_password: current, new_password: next }, cookie);
const newPassword = () => `new-${randomBytes(12).toString('base64url')}`;

const meStatus = (cookie: string) => meStatusAt(app.baseUrl, cookie);

const emailJobsTo = (to: string) => outboxEmailJobsTo(app.deps.db.write, to);

describe('change password', () => {
  it('When the current password is right, then the new one logs in, the old one does not, and a notice is enqueued', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const replacement = newPassword();

    expect(await changePassword(cookie, password!, replacement)).toEqual({
      status: 204,
      body: '',
    });

    expect(
      (await post('/v0/auth/login', { email: user.email, password: replacement })).status,
    ).toBe(204);
    expect((await post('/v0/auth/login', { email: user.email, password })).status).toBe(401);
    expect(await emailJobsTo(user.email)).toEqual([
      {
        to: user.email,
        template: 'notice',
        vars: {
          title: 'Your password was changed',
          message: expect.stringContaining('changed') as unknown,
        },
      },
    ]);
  });

  it('When the password is changed, then the current session keeps working and every other session ends (regression)', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const other = await signIn(app.baseUrl, { email: user.email, password: password! });
    const third = await signIn(app.baseUrl, { email: user.email, password: password! });

    expect((await changePassword(cookie, password!, newPassword())).status).toBe(204);

    expect([await meStatus(cookie), await meStatus(other), await meStatus(third)]).toEqual([
      200, 401, 401,
    ]);
  });

  it('When the current password is wrong, then 400 password:incorrect and nothing changes', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const other = await signIn(app.baseUrl, { email: user.email, password: password! });

    const response = await changePassword(cookie, `${password}-wrong`, newPassword());

    expect(response).toEqual({
      status: 400,
      body: { status: 400, code: 'password:incorrect', details: expect.any(String) as unknown },
    });
    expect((await post('/v0/auth/login', { email: user.email, password })).status).toBe(204);
    expect(await meStatus(other)).toBe(200);
    expect(await emailJobsTo(user.email)).toEqual([]);
  });

  it('When the new password is the current one, then 400 password:same_as_current', async () => {
    const { password, cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const response = await changePassword(cookie, password!, password!);

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'password:same_as_current' });
  });

  it('When the account has no password (OAuth only), then 400 password:not_set', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    await app.deps.db.write('users').where({ id: user.id }).update({ password: null });

    const response = await changePassword(cookie, 'anything-at-all', newPassword());

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'password:not_set' });
  });

  it('When there is no session, then 401 auth:unauthorized', async () => {
    const response = await post('/v0/auth/change-password', {
      current_password: 'whatever-it-is',
      new_password: newPassword(),
    });

    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ code: 'auth:unauthorized' });
  });

  it('When the new password is over 128 characters, then 400 general:validation_error (regression)', async () => {
    const { password, cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const response = await changePassword(cookie, password!, 'x'.repeat(129));

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'general:validation_error' });
    expect(JSON.stringify(response.body)).toContain('new_password');
  });
});
