import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker.ts';
import { createMailer, type Mailer } from '../../src/shared/clients/mailer.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { createAccountEmailConsumer } from '../../worker/consumers/account-email.consumer.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import { startMailCatcher, type MailCatcher } from '../support/mail.ts';
import { createRunnerHarness, type RunnerHarness } from '../worker/support/runner-harness.ts';

let app: TestApp;
let config: WorkerConfig;
let catcher: MailCatcher;
let mailer: Mailer;
let harness: RunnerHarness;

beforeAll(async () => {
  app = await startTestApp();
  config = loadWorkerConfig(process.env);
  catcher = await startMailCatcher();
  mailer = createMailer({ ...config.smtp, host: catcher.host, port: catcher.port });
  harness = await createRunnerHarness();
  await harness.start([
    await createAccountEmailConsumer({
      mailer,
      config,
      db: app.deps.db,
      redis: app.deps.redis.session,
    }),
  ]);
});
afterAll(async () => {
  await harness?.close();
  mailer?.close();
  await catcher?.close();
  await app?.close();
});

const post = async (path: string, body: unknown) =>
  (await postJson(app.baseUrl, path, body)).status;

/**
 * The outbox rows the API wrote for one address, published as the relay publishes them (the
 * shared outbox belongs to every test process, so no relay runs over it here).
 */
async function relayAccountEmailJobsFor(email: string): Promise<void> {
  const rows: { id: string; payload: unknown }[] = await app.deps.db
    .write('outbox')
    .where({ subject: jobStreams.accountEmail.subject })
    .whereRaw("payload->>'email' = ?", [email])
    .select('id', 'payload');
  for (const row of rows) await harness.publish('accountEmail', row.payload, row.id);
}

it('When a user forgets the password, then the reset email arrives by SMTP and the token in its link sets a new password', async () => {
  const { user } = await createUser(app.deps);
  expect(await post('/v0/auth/forgot-password', { email: user.email })).toBe(204);

  await relayAccountEmailJobsFor(user.email);
  const mail = await catcher.waitForMail(user.email);

  const linkPrefix = `${config.frontend.host}${config.frontend.paths.resetPassword}?token=`;
  const link = mail.text.split(/\s+/).find((word) => word.startsWith(linkPrefix));
  expect(link, mail.text).toBeDefined();
  const token = decodeURIComponent(link!.slice(linkPrefix.length));
  expect(mail.html).toContain(user.display_name);
  const replacement = `new-${randomBytes(12).toString('base64url')}`;

  expect(await post('/v0/auth/reset-password', { token, new_password: replacement })).toBe(204);
  expect(await post('/v0/auth/login', { email: user.email, password: replacement })).toBe(204);
});
