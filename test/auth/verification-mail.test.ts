import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOutboxRelay, type OutboxRelay } from '../../src/bridge/relay.ts';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker.ts';
import { createMailer, type Mailer } from '../../src/shared/clients/mailer.ts';
import { createAccountEmailConsumer } from '../../worker/consumers/account-email.consumer.ts';
import { createEmailConsumer } from '../../worker/consumers/email.consumer.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { cookieFrom, createUser } from '../support/factories.ts';
import { startMailCatcher, type CaughtMail, type MailCatcher } from '../support/mail.ts';
import {
  createRunnerHarness,
  logger,
  type RunnerHarness,
} from '../worker/support/runner-harness.ts';
import { postJson } from '../support/http.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';
import { newSignUp, signUp } from '../users/support/sign-up.ts';

/**
 * The whole path of a sign-up email: the app writes the job to the outbox in the sign-up's
 * transaction, the relay publishes it to JetStream, the worker's email consumer renders it
 * and sends it over SMTP, and the link in the received mail verifies the account. A resend
 * takes the account-email consumer's path, which decides and mints the link in the worker.
 *
 * The app gets an outbox table of its own (a private schema ahead of public on the search
 * path) and the relay a private NATS: a relay claims every pending row it sees, so sharing
 * the test database's outbox would steal other test files' jobs.
 */
let app: TestApp;
let harness: RunnerHarness;
let relay: OutboxRelay;
let catcher: MailCatcher;
let mailer: Mailer;
let config: WorkerConfig;
let outbox: PrivateTables;

beforeAll(async () => {
  outbox = await createPrivateTables(['outbox']);
  app = await startTestApp({ database: { url: outbox.url, readUrl: outbox.url } });

  config = loadWorkerConfig(process.env);
  catcher = await startMailCatcher();
  mailer = createMailer({ ...config.smtp, host: catcher.host, port: catcher.port });
  harness = await createRunnerHarness();
  await harness.start([
    await createEmailConsumer({ mailer, config }),
    await createAccountEmailConsumer({
      mailer,
      config,
      db: app.deps.db,
      redis: app.deps.redis.session,
    }),
  ]);
  relay = startOutboxRelay({
    db: app.deps.db.write,
    nats: harness.nats,
    logger,
    intervalMs: 50,
  });
});

afterAll(async () => {
  await relay?.stop();
  await harness?.close();
  mailer?.close();
  await catcher?.close();
  await app?.close();
  await outbox?.drop();
});

/** The token in the mail's verification link, as the frontend would read it from the URL. */
function linkToken(mail: CaughtMail): string {
  const base = `${config.frontend.host}${config.frontend.paths.verifyEmail}`;
  const link = mail.text.split(/\s+/).find((word) => word.startsWith(`${base}?token=`));
  if (!link) throw new Error(`no verification link in: ${mail.text}`);
  const token = new URL(link).searchParams.get('token');
  expect(mail.html).toContain(`href="${link}"`);
  return token!;
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
