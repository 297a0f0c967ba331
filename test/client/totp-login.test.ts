import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor, signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { codeAt, wrongCode } from '../totp/totp-support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('TOTP through the typed client', () => {
  it('When a user enables TOTP and logs in again, then the password step asks for a code, a wrong one is refused with its code and a right one opens the session', async () => {
    const { user, password } = await createUser(app.deps);
    const credentials = { email: user.email, password: password! };
    const owner = await signedInClient(app, credentials);

    const setup = await owner.POST('/v0/auth/totp/setup');
    const secret = setup.data!.secret;
    const enabled = await owner.POST('/v0/auth/totp/enable', {
      body: { code: await codeAt(secret, 0) },
    });
    expect(enabled.data?.backup_codes).toHaveLength(10);
    expect((await owner.GET('/v0/auth/totp/status')).data).toMatchObject({
      enabled: true,
      backup_codes_remaining: 10,
    });

    const browser = clientFor(app);
    const login = await browser.POST('/v0/auth/login', {
      body: { ...credentials, remember_me: false },
    });
    expect(login.response.status).toBe(202);
    expect(login.data).toMatchObject({ totp_required: true });
    const tempToken = login.data!.temp_token;
    expect((await browser.GET('/v0/user/me')).error?.code).toBe('auth:unauthorized');

    const wrong = await browser.POST('/v0/auth/totp/verify', {
      body: { temp_token: tempToken, code: await wrongCode(secret) },
    });
    expect(wrong.error).toMatchObject({ status: 400, code: 'totp:invalid_code' });

    const right = await browser.POST('/v0/auth/totp/verify', {
      body: { temp_token: tempToken, code: await codeAt(secret, 1) },
    });
    expect(right.response.status).toBe(204);
    expect((await browser.GET('/v0/user/me')).data).toMatchObject({
      id: user.id,
      totp_enabled: true,
    });
  });

  it('When a backup code finishes the login, then it works once and the status counts one fewer', async () => {
    const { user, password } = await createUser(app.deps);
    const credentials = { email: user.email, password: password!, remember_me: false };
    const owner = await signedInClient(app, credentials);
    const { secret } = (await owner.POST('/v0/auth/totp/setup')).data!;
    const enabled = await owner.POST('/v0/auth/totp/enable', {
      body: { code: await codeAt(secret, 0) },
    });
    const [backupCode] = enabled.data!.backup_codes;

    const loginWith = async (code: string) => {
      const browser = clientFor(app);
      const login = await browser.POST('/v0/auth/login', { body: credentials });
      const verify = await browser.POST('/v0/auth/totp/verify', {
        body: { temp_token: login.data!.temp_token, code },
      });
      return { browser, verify };
    };

    const first = await loginWith(backupCode!);
    expect(first.verify.response.status).toBe(204);
    expect((await first.browser.GET('/v0/user/me')).data?.id).toBe(user.id);
    const replay = await loginWith(backupCode!);
    expect(replay.verify.error?.code).toBe('totp:invalid_code');
    expect((await owner.GET('/v0/auth/totp/status')).data?.backup_codes_remaining).toBe(9);
  });
});
