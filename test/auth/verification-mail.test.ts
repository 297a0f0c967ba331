import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../src/config/worker.ts';
import type { TestApp } from '../support/app.ts';
import { cookieFrom, createUser } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import type { CaughtMail, MailCatcher } from '../support/mail.ts';
import {
  startMailPipeline,
  verificationLink,
  type MailPipeline,
} from '../support/mail-pipeline.ts';
import { newSignUp, signUp } from '../users/support/sign-up.ts';

/**
 * The whole path of a sign-up email: the app writes the job to the outbox in the sign-up's
 * transaction, the relay publishes it to JetStream, the worker's email consumer renders it
 * and sends it over SMTP, and the link in the received mail verifies the account. A resend
 * takes the account-email consumer's path, which decides and mints the link in the worker.
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

/** The token of the mail's verification link; the HTML part links the same URL. */
function linkToken(mail: CaughtMail): string {
  const { link, token } = verificationLink(config, mail);
  expect(mail.html).toContain(`href="${link}"`);
  return token;
}

const verify = (token: string) => postJson(app.baseUrl, '/v0/auth/verify-email', { token });

describe('sign-up email through the outbox, JetStream, the worker and SMTP', () => {
  it('When a user signs up, then the verification email arrives and its link verifies and signs the user in', async () => {
    const input = newSignUp();

    expect((await signUp(app.baseUrl, input)).status).toBe(201);
    const mail = await catcher.waitForMail(input.email);

    expect(mail.envelopeTo).toEqual([input.email]);
    expect(mail.subject).toBe(`Verify your email for ${config.projectName}`);
    expect(mail.text).toContain(`Hi ${input.display_name},`);
    const verified = await verify(linkToken(mail));
    expect(verified.status).toBe(204);
    const me = await fetch(`${app.baseUrl}/v0/user/me`, {
      headers: { cookie: cookieFrom(verified.response)! },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: input.email, is_verified: true });
  });

  it('When a second verification email is requested, then the first mailed link is dead and the second works', async () => {
    const input = newSignUp();
    expect((await signUp(app.baseUrl, input)).status).toBe(201);
    const first = await catcher.waitForMail(input.email);

    expect(
      (await postJson(app.baseUrl, '/v0/auth/resend-verification-email', { email: input.email }))
        .status,
    ).toBe(204);
    const second = await catcher.waitForMail(input.email, (mail) => mail !== first);

    const stale = await verify(linkToken(first));
    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject({ code: 'token:invalid_verification' });
    expect((await verify(linkToken(second))).status).toBe(204);
  });

  it('When someone signs up with a registered address, then its owner is mailed a notice without any link', async () => {
    const { user } = await createUser(app.deps);

    expect((await signUp(app.baseUrl, newSignUp({ email: user.email }))).status).toBe(201);
    const notice = await catcher.waitForMail(user.email);

    expect(notice.subject).toContain('Someone tried to sign up with your email address');
    expect(notice.text).toContain('nothing was created');
    expect(notice.text).not.toContain('token=');
  });
});
