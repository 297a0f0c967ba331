import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../src/config/worker.ts';
import type { TestApp } from '../support/app.ts';
import { clientFor } from '../support/client.ts';
import type { CaughtMail, MailCatcher } from '../support/mail.ts';
import {
  startMailPipeline,
  verificationLink,
  type MailPipeline,
} from '../support/mail-pipeline.ts';
import { newSignUp } from '../users/support/sign-up.ts';

/**
 * Sign-up to a working account through the typed client, the way a frontend does it: the
 * verification email really travels (outbox → relay → JetStream → email consumer → SMTP), and
 * the session the verification link opens lives in the client's cookie jar.
 */
let app: TestApp;
let catcher: MailCatcher;
let config: WorkerConfig;
let pipeline: MailPipeline;

beforeAll(async () => {
  pipeline = await startMailPipeline();
  ({ app, catcher, config } = pipeline);
});
afterAll(async () => {
  await pipeline?.close();
});

const linkToken = (mail: CaughtMail) => verificationLink(config, mail).token;

describe('sign-up through the typed client', () => {
  it('When a visitor signs up, follows the mailed link, then /me and the public profile show the verified account', async () => {
    const api = clientFor(app);
    const input = newSignUp();

    const before = await api.GET('/v0/users/handle/{handle}/available', {
      params: { path: { handle: input.handle } },
    });
    expect(before.data).toEqual({ available: true });

    const created = await api.POST('/v0/users', { body: input });
    expect(created.response.status).toBe(201);
    const token = linkToken(await catcher.waitForMail(input.email));

    const anonymous = await api.GET('/v0/user/me');
    expect(anonymous.error).toMatchObject({ status: 401, code: 'auth:unauthorized' });

    const verified = await api.POST('/v0/auth/verify-email', { body: { token } });
    expect(verified.response.status).toBe(204);

    const me = await api.GET('/v0/user/me');
    expect(me.data).toMatchObject({
      email: input.email,
      handle: input.handle,
      display_name: input.display_name,
      is_verified: true,
      totp_enabled: false,
      has_password: true,
    });

    const profile = await clientFor(app).GET('/v0/users/profile', {
      params: { query: { handle: input.handle.toUpperCase() } },
    });
    expect(profile.data).toMatchObject({
      id: me.data?.id,
      handle: input.handle,
      display_name: input.display_name,
      is_verified: true,
    });
    expect(profile.data).not.toHaveProperty('email');

    const after = await api.GET('/v0/users/handle/{handle}/available', {
      params: { path: { handle: input.handle } },
    });
    expect(after.data).toEqual({ available: false });
  });

  it('When the link is used twice or the handle is taken, then the client gets the typed codes the contract lists', async () => {
    const api = clientFor(app);
    const input = newSignUp();
    expect((await api.POST('/v0/users', { body: input })).response.status).toBe(201);
    const token = linkToken(await catcher.waitForMail(input.email));
    expect((await api.POST('/v0/auth/verify-email', { body: { token } })).response.status).toBe(
      204,
    );

    const again = await api.POST('/v0/auth/verify-email', { body: { token } });
    const taken = await api.POST('/v0/users', {
      body: newSignUp({ handle: input.handle.toUpperCase() }),
    });

    expect(again.error).toMatchObject({ status: 400, code: 'token:invalid_verification' });
    expect(taken.error?.code === 'user:handle_already_exists' && taken.error.status).toBe(409);
  });
});
