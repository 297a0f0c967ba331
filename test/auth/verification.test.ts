import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { cookieFrom, createUser, uniqueHandle } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import {
  accountEmailJobsFor,
  composeLatestAccountEmail,
  latestMailedToken,
} from '../support/outbox.ts';
import { newSignUp, signUp, type SignUpBody } from '../users/support/sign-up.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const verify = (token: string) => postJson(app.baseUrl, '/v0/auth/verify-email', { token });
const resend = (email: string) =>
  postJson(app.baseUrl, '/v0/auth/resend-verification-email', { email });
const userByEmail = async (email: string) =>
  (await app.deps.db.write<UserRow>('users').where({ email }).first())!;

/** The token of the verification email the worker makes of the latest resend, if any. */
async function resentToken(email: string): Promise<string | undefined> {
  const mail = await composeLatestAccountEmail(app.deps, email);
  return mail?.template === 'verification' ? mail.vars.token : undefined;
}

/** Signs up over HTTP and returns the input and the token of the verification email. */
async function signedUp(): Promise<{ input: SignUpBody; token: string }> {
  const input = newSignUp();
  expect((await signUp(app.baseUrl, input)).status).toBe(201);
  return { input, token: await latestMailedToken(app.deps.db.write, input.email, 'verification') };
}

const INVALID = { status: 400, code: 'token:invalid_verification' };

describe('POST /v0/auth/verify-email', () => {
  it('When the token from the sign-up email is sent, then the address is verified and the answer logs the user in', async () => {
    const { input, token } = await signedUp();

    const { response, status } = await verify(token);

    expect(status).toBe(204);
    expect((await userByEmail(input.email)).verified_at).toBeInstanceOf(Date);
    const cookie = cookieFrom(response);
    expect(cookie).toBeDefined();
    const me = await fetch(`${app.baseUrl}/v0/user/me`, { headers: { cookie: cookie! } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      handle: input.handle,
      email: input.email,
      is_verified: true,
      has_password: true,
    });
  });

  it('When the user has not verified yet, then login is refused, and after verifying the same password logs in', async () => {
    const { input, token } = await signedUp();
    const credentials = { email: input.email, password: input.password };

    const before = await postJson(app.baseUrl, '/v0/auth/login', credentials);
    expect(before.status).toBe(403);
    expect(before.body).toMatchObject({ code: 'auth:email_not_verified' });

    expect((await verify(token)).status).toBe(204);
    expect((await postJson(app.baseUrl, '/v0/auth/login', credentials)).status).toBe(204);
  });

  it('When a token is used a second time, then it answers 400 token:invalid_verification (a token works once)', async () => {
    const { token } = await signedUp();

    expect((await verify(token)).status).toBe(204);
    const again = await verify(token);

    expect(again.status).toBe(400);
    expect(again.body).toMatchObject(INVALID);
    expect(cookieFrom(again.response)).toBeUndefined();
  });

  it('When a new verification email is sent, then the old token dies and only the new one verifies', async () => {
    const { input, token: old } = await signedUp();

    expect((await resend(input.email)).status).toBe(204);
    const fresh = (await resentToken(input.email))!;
    expect(fresh).not.toBe(old);

    const stale = await verify(old);
    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject(INVALID);
    expect((await userByEmail(input.email)).verified_at).toBeNull();
    expect((await verify(fresh)).status).toBe(204);
  });

  it('When the token is unknown, then it answers 400 token:invalid_verification; an empty one fails validation', async () => {
    const unknown = await verify('A'.repeat(43));
    const empty = await verify('');

    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject(INVALID);
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ code: 'general:validation_error' });
  });

  it('When the address was verified meanwhile by another route, then it answers 409 email:already_verified', async () => {
    const { input, token } = await signedUp();
    // What an email-change confirmation does to the account.
    await app.deps.db
      .write('users')
      .where({ email: input.email })
      .update({ verified_at: new Date() });

    const { status, body } = await verify(token);

    expect(status).toBe(409);
    expect(body).toMatchObject({ status: 409, code: 'email:already_verified' });
  });

  it('When the account changed its address after the link was mailed, then the old link verifies nothing', async () => {
    const { input, token } = await signedUp();
    const changed = `${uniqueHandle('moved')}@example.test`;
    await app.deps.db.write('users').where({ email: input.email }).update({ email: changed });

    const { status, body } = await verify(token);

    expect(status).toBe(400);
    expect(body).toMatchObject(INVALID);
    expect((await userByEmail(changed)).verified_at).toBeNull();
  });
});

describe('POST /v0/auth/resend-verification-email', () => {
  it('When the address is unknown, verified or unverified, then the answer is the same 204, and only the unverified account gets an email (no enumeration)', async () => {
    const { input } = await signedUp();
    const { user: verified } = await createUser(app.deps);
    const unknown = `${uniqueHandle('nobody')}@example.test`;

    const answers = await Promise.all([
      resend(unknown),
      resend(verified.email),
      resend(input.email),
    ]);

    for (const answer of answers) {
      expect(answer.status).toBe(204);
      expect(answer.body).toEqual('');
    }
    // The same work in each request, one queued job, so timing tells nothing either.
    for (const email of [unknown, verified.email, input.email]) {
      expect(await accountEmailJobsFor(app.deps.db.write, email)).toEqual([
        { flow: 'verification', email },
      ]);
    }
    expect(await composeLatestAccountEmail(app.deps, unknown)).toBeUndefined();
    expect(await composeLatestAccountEmail(app.deps, verified.email)).toBeUndefined();
    expect(await resentToken(input.email)).toEqual(expect.any(String));
  });

  it('When the address is sent in capitals, then the unverified account still gets its new link', async () => {
    const { input } = await signedUp();

    expect((await resend(input.email.toUpperCase())).status).toBe(204);

    expect(await composeLatestAccountEmail(app.deps, input.email)).toMatchObject({
      to: input.email,
      template: 'verification',
      vars: { display_name: input.display_name },
    });
  });

  it('When the email is malformed, then it answers 400 general:validation_error', async () => {
    const { status, body } = await resend('not-an-email');

    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 'general:validation_error' });
  });
});
