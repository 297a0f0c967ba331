import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { composeLatestAccountEmail } from '../support/outbox.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

/** The token of the reset email the worker makes of the latest request for the address. */
async function mailedResetToken(email: string): Promise<string> {
  const mail = await composeLatestAccountEmail(app.deps, email);
  if (mail?.template !== 'password_reset') throw new Error(`no reset email for ${email}`);
  return mail.vars.token;
}

describe('password reset through the typed client', () => {
  it('When a user resets a forgotten password, then the old sessions and password stop working and the new password signs in', async () => {
    const { user, password } = await createUser(app.deps);
    const oldCredentials = { email: user.email, password: password!, remember_me: false };
    const signedIn = await signedInClient(app, oldCredentials);
    const api = clientFor(app);

    const forgot = await api.POST('/v0/auth/forgot-password', { body: { email: user.email } });
    expect(forgot.response.status).toBe(204);
    const token = await mailedResetToken(user.email);
    const replacement = `new-${randomBytes(12).toString('base64url')}`;

    const reset = await api.POST('/v0/auth/reset-password', {
      body: { token, new_password: replacement },
    });
    expect(reset.response.status).toBe(204);

    expect((await signedIn.GET('/v0/user/me')).error?.status).toBe(401);
    const oldLogin = await api.POST('/v0/auth/login', { body: oldCredentials });
    expect(oldLogin.error).toMatchObject({ status: 401, code: 'auth:invalid_credentials' });
    const newLogin = await api.POST('/v0/auth/login', {
      body: { ...oldCredentials, password: replacement },
    });
    expect(newLogin.response.status).toBe(204);
    expect((await api.GET('/v0/user/me')).data?.id).toBe(user.id);

    const replay = await clientFor(app).POST('/v0/auth/reset-password', {
      body: { token, new_password: `other-${randomBytes(12).toString('base64url')}` },
    });
    expect(replay.error).toMatchObject({ status: 400, code: 'token:invalid_reset' });
  });

  it('When the new password is too short, then 400 general:validation_error and the token still works', async () => {
    const { user } = await createUser(app.deps);
    const api = clientFor(app);
    await api.POST('/v0/auth/forgot-password', { body: { email: user.email } });
    const token = await mailedResetToken(user.email);

    const refused = await api.POST('/v0/auth/reset-password', {
      body: { token, new_password: 'short' },
    });
    const accepted = await api.POST('/v0/auth/reset-password', {
      body: { token, new_password: `new-${randomBytes(12).toString('base64url')}` },
    });

    expect(refused.error).toMatchObject({ status: 400, code: 'general:validation_error' });
    expect(accepted.response.status).toBe(204);
  });
});
