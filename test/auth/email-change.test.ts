import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { postAnswer } from '../support/http.ts';
import { emailJobsTo as outboxEmailJobsTo, latestMailedToken } from '../support/outbox.ts';
import { createSignedInUser, createUser, uniqueHandle } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (path: string, body: unknown, cookie?: string) =>
  postAnswer(app.baseUrl, path, body, cookie);

const changeEmail = (cookie: string, password: string, newEmail: string) =>
  post('/v0/auth/change-email', { password, new_email: newEmail }, cookie);
const confirm = (token: string) => post('/v0/auth/confirm-email-change', { token });
const freshEmail = () => `${uniqueHandle('m')}@example.test`;

const emailJobsTo = (to: string) => outboxEmailJobsTo(app.deps.db.write, to);

const changeToken = (to: string) => latestMailedToken(app.deps.db.write, to, 'email_change');

async function userRow(id: string): Promise<UserRow> {
  const [row] = await app.deps.db.write<UserRow>('users').where({ id });
  if (!row) throw new Error(`user ${id} is gone`);
  return row;
}

describe('change email', () => {
  it('When the password is right, then a confirmation link goes to the new address, a notice to the old one, and the email is unchanged', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const target = freshEmail();

    expect(await changeEmail(cookie, password!, target)).toEqual({ status: 204, body: '' });

    expect(await emailJobsTo(target)).toEqual([
      {
        to: target,
        template: 'email_change',
        vars: {
          token: expect.stringMatching(/^[0-9a-f-]{36}\.[\w-]{43}$/) as unknown,
          display_name: user.display_name,
        },
      },
    ]);
    expect(await emailJobsTo(user.email)).toEqual([
      {
        to: user.email,
        template: 'notice',
        vars: { title: 'Email address change requested', message: expect.any(String) as unknown },
      },
    ]);
    expect((await userRow(user.id)).email).toBe(user.email);
  });

  it('When the link is confirmed, then the new lowercased address is set and verified, and logs in', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    await app.deps.db.write('users').where({ id: user.id }).update({ verified_at: null });
    const target = freshEmail();
    expect((await changeEmail(cookie, password!, target.toUpperCase())).status).toBe(204);

    expect(await confirm(await changeToken(target))).toEqual({ status: 204, body: '' });

    const row = await userRow(user.id);
    expect(row.email).toBe(target);
    expect(row.verified_at).toBeInstanceOf(Date);
    expect((await post('/v0/auth/login', { email: target, password })).status).toBe(204);
    expect((await post('/v0/auth/login', { email: user.email, password })).status).toBe(401);
  });

  it('When the password is wrong, then 400 password:incorrect and nothing is mailed', async () => {
    const { password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const target = freshEmail();

    const response = await changeEmail(cookie, `${password}-wrong`, target);

    expect(response).toEqual({
      status: 400,
      body: { status: 400, code: 'password:incorrect', details: expect.any(String) as unknown },
    });
    expect(await emailJobsTo(target)).toEqual([]);
  });

  it('When the account has no password (OAuth only), then 400 password:not_set', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    await app.deps.db.write('users').where({ id: user.id }).update({ password: null });

    const response = await changeEmail(cookie, 'anything-at-all', freshEmail());

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'password:not_set' });
  });

  it('When another account has the address in any case, then 409 user:email_already_exists', async () => {
    const { user: other } = await createUser(app.deps);
    const { password, cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const response = await changeEmail(cookie, password!, other.email.toUpperCase());

    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'user:email_already_exists' });
    expect(
      (await emailJobsTo(other.email)).filter((job) => job.template === 'email_change'),
    ).toEqual([]);
  });

  it('When the new address is the current one, then 409 user:email_already_exists', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const response = await changeEmail(cookie, password!, user.email.toUpperCase());

    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'user:email_already_exists' });
  });

  it('When there is no session, then 401 auth:unauthorized', async () => {
    const response = await post('/v0/auth/change-email', {
      password: 'whatever-it-is',
      new_email: freshEmail(),
    });

    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ code: 'auth:unauthorized' });
  });
});

describe('confirm email change', () => {
  it('When the token was already used, then 400 token:invalid_email_change (regression)', async () => {
    const { password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const target = freshEmail();
    await changeEmail(cookie, password!, target);
    const token = await changeToken(target);
    expect((await confirm(token)).status).toBe(204);

    const again = await confirm(token);

    expect(again).toEqual({
      status: 400,
      body: {
        status: 400,
        code: 'token:invalid_email_change',
        details: expect.any(String) as unknown,
      },
    });
  });

  it('When the token is unknown, then 400 token:invalid_email_change', async () => {
    const response = await confirm(randomBytes(32).toString('base64url'));

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'token:invalid_email_change' });
  });

  it('When a second change is requested, then the first link no longer works', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const first = freshEmail();
    const second = freshEmail();
    await changeEmail(cookie, password!, first);
    await changeEmail(cookie, password!, second);

    const stale = await confirm(await changeToken(first));

    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject({ code: 'token:invalid_email_change' });
    expect((await confirm(await changeToken(second))).status).toBe(204);
    expect((await userRow(user.id)).email).toBe(second);
  });

  it('When the address was taken by another account meanwhile, then 409 user:email_already_exists and the email stays', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const target = freshEmail();
    await changeEmail(cookie, password!, target);
    await createUser(app.deps, { email: target });

    const response = await confirm(await changeToken(target));

    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'user:email_already_exists' });
    expect((await userRow(user.id)).email).toBe(user.email);
  });

  it('When the email changed by another link after this one was mailed, then this link is refused', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const target = freshEmail();
    await changeEmail(cookie, password!, target);
    await app.deps.db.write('users').where({ id: user.id }).update({ email: freshEmail() });

    const response = await confirm(await changeToken(target));

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'token:invalid_email_change' });
  });
});
