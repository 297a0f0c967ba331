import { startOutboxRelay } from '../../src/bridge/relay.ts';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker.ts';
import { createMailer } from '../../src/shared/clients/mailer.ts';
import { createAccountEmailConsumer } from '../../worker/consumers/account-email.consumer.ts';
import { createEmailConsumer } from '../../worker/consumers/email.consumer.ts';
import { createRunnerHarness, logger } from '../worker/support/runner-harness.ts';
import { startTestApp, type TestApp } from './app.ts';
import { startMailCatcher, type CaughtMail, type MailCatcher } from './mail.ts';
import { createPrivateTables } from './private-tables.ts';

export interface MailPipeline {
  app: TestApp;
  catcher: MailCatcher;
  config: WorkerConfig;
  close(): Promise<void>;
}

/**
 * The app with the whole path its mail takes: outbox → relay → JetStream → the worker's email
 * and account-email consumers → SMTP into a catcher. The app gets an outbox table of its own
 * (a private schema ahead of public on the search path) and the relay a private NATS: a relay
 * claims every pending row it sees, so sharing the test database's outbox would steal other
 * test files' jobs.
 */
export async function startMailPipeline(): Promise<MailPipeline> {
  const outbox = await createPrivateTables(['outbox']);
  const app = await startTestApp({ database: { url: outbox.url, readUrl: outbox.url } });
  const config = loadWorkerConfig(process.env);
  const catcher = await startMailCatcher();
  const mailer = createMailer({ ...config.smtp, host: catcher.host, port: catcher.port });
  const harness = await createRunnerHarness();
  await harness.start([
    await createEmailConsumer({ mailer, config }),
    await createAccountEmailConsumer({
      mailer,
      config,
      db: app.deps.db,
      redis: app.deps.redis.session,
    }),
  ]);
  const relay = startOutboxRelay({
    db: app.deps.db.write,
    nats: harness.nats,
    logger,
    intervalMs: 50,
  });
  return {
    app,
    catcher,
    config,
    async close() {
      await relay.stop();
      await harness.close();
      mailer.close();
      await catcher.close();
      await app.close();
      await outbox.drop();
    },
  };
}

/** The link of a mailed verification email and its token, as the frontend reads them. */
export function verificationLink(
  config: WorkerConfig,
  mail: CaughtMail,
): { link: string; token: string } {
  const base = `${config.frontend.host}${config.frontend.paths.verifyEmail}`;
  const link = mail.text.split(/\s+/).find((word) => word.startsWith(`${base}?token=`));
  const token = link ? new URL(link).searchParams.get('token') : null;
  if (!link || !token) throw new Error(`no verification link in: ${mail.text}`);
  return { link, token };
}
