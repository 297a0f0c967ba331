import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker.ts';
import { createMailer, type Mailer } from '../../src/shared/clients/mailer.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createEmailConsumer } from '../../worker/consumers/email.consumer.ts';
import { startMailCatcher, type MailCatcher } from '../support/mail.ts';
import { freePort } from '../support/net.ts';
import { createRunnerHarness, eventually, type RunnerHarness } from './support/runner-harness.ts';

const durable = jobStreams.email.durable;
// Every character that must not travel raw in a query string.
const TOKEN = 'tok+en/with=padding==';
const ENCODED_TOKEN = 'tok%2Ben%2Fwith%3Dpadding%3D%3D';

let config: WorkerConfig;
let catcher: MailCatcher;
let mailer: Mailer;
let harness: RunnerHarness;

const recipient = () => `user-${newId()}@example.test`;

function mailerTo(port: number): Mailer {
  return createMailer({ ...config.smtp, host: '127.0.0.1', port });
}

function link(path: keyof WorkerConfig['frontend']['paths']): string {
  return `${config.frontend.host}${config.frontend.paths[path]}?token=${ENCODED_TOKEN}`;
}

beforeAll(async () => {
  config = loadWorkerConfig(process.env);
  catcher = await startMailCatcher();
  mailer = mailerTo(catcher.port);
});

afterAll(async () => {
  mailer?.close();
  await catcher?.close();
});

beforeEach(async () => {
  harness = await createRunnerHarness();
});

afterEach(async () => {
  await harness.close();
});

describe('email consumer', () => {
  it('When a verification job is consumed, then the mail comes from EMAIL_FROM with the project subject, HTML and text parts and a link with the URL-encoded token', async () => {
    await harness.start([await createEmailConsumer({ mailer, config })]);
    const to = recipient();

    await harness.publish('email', {
      to,
      template: 'verification',
      vars: { token: TOKEN, display_name: 'Ada' },
    });

    const mail = await catcher.waitForMail(to);
    expect(mail.envelopeTo).toEqual([to]);
    const [sender] = mail.parsed.from?.value ?? [];
    expect(`${sender?.name} <${sender?.address}>`).toBe(config.smtp.from);
    expect(mail.subject).toBe(`Verify your email for ${config.projectName}`);
    expect(mail.html).toContain('<!doctype html>');
    expect(mail.html).toContain(`href="${link('verifyEmail')}"`);
    expect(mail.html).toContain('Hi Ada,');
    expect(mail.html).not.toContain(TOKEN);
    expect(mail.text).toContain(`Verify email: ${link('verifyEmail')}`);
    expect(mail.text).toContain('Hi Ada,');
    expect(mail.text).not.toContain('<');
    await eventually('the job to be acked', async () =>
      (await harness.streamMessages('email')) === 0 ? true : undefined,
    );
  });

  it('When the display name is markup, then the HTML part escapes it and the text part keeps it as written', async () => {
    await harness.start([await createEmailConsumer({ mailer, config })]);
    const to = recipient();
    const name = `<script>alert("x")</script> & O'Neil`;

    await harness.publish('email', {
      to,
      template: 'password_reset',
      vars: { token: TOKEN, display_name: name },
    });

    const mail = await catcher.waitForMail(to);
    expect(mail.subject).toBe(`Reset your ${config.projectName} password`);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain(
      'Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; O&#39;Neil,',
    );
    expect(mail.text).toContain(`Hi ${name},`);
    expect(mail.html).toContain(`href="${link('resetPassword')}"`);
    expect(mail.text).toContain(link('resetPassword'));
  });

  it('When email-change and notice jobs are consumed, then each gets its subject, its link path or its message', async () => {
    await harness.start([await createEmailConsumer({ mailer, config })]);
    const changeTo = recipient();
    const noticeTo = recipient();
    const plainNoticeTo = recipient();

    await harness.publish('email', {
      to: changeTo,
      template: 'email_change',
      vars: { token: TOKEN, display_name: 'Ada' },
    });
    await harness.publish('email', {
      to: noticeTo,
      template: 'notice',
      vars: {
        title: 'Registration attempt\r\nBcc: victim@example.test',
        message: 'Someone tried to register with this address.\nIf it was you, sign in <here>.',
      },
    });
    await harness.publish('email', {
      to: plainNoticeTo,
      template: 'notice',
      vars: { message: 'Your password was changed.' },
    });

    const change = await catcher.waitForMail(changeTo);
    expect(change.subject).toBe(`Confirm your new email address for ${config.projectName}`);
    expect(change.html).toContain(`href="${link('confirmEmailChange')}"`);
    expect(change.text).toContain(link('confirmEmailChange'));

    const notice = await catcher.waitForMail(noticeTo);
    // The CR/LF in the title cannot add a header.
    expect(notice.subject).toBe(
      `Registration attempt Bcc: victim@example.test - ${config.projectName}`,
    );
    expect(notice.parsed.bcc).toBeUndefined();
    expect(notice.envelopeTo).toEqual([noticeTo]);
    expect(notice.html).toContain(
      'Someone tried to register with this address.\nIf it was you, sign in &lt;here&gt;.',
    );
    expect(notice.text).toContain('If it was you, sign in <here>.');
    expect(notice.html).not.toContain('token=');

    const plain = await catcher.waitForMail(plainNoticeTo);
    expect(plain.subject).toBe(`A notice about your account - ${config.projectName}`);
    expect(plain.text).toContain('Your password was changed.');
  });

  it('When the mail was sent but the ack was lost, then the redelivery is skipped and the user gets one mail', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Sends for real, then stalls: the worker goes away before it can ack.
    const stalling: Mailer = {
      ...mailer,
      async send(mail) {
        const sent = await mailer.send(mail);
        await released;
        return sent;
      },
    };
    // The first runner must be gone before the ack wait redelivers the job, or it would take
    // the redelivery itself; 2 s is several times what the send and the stop take.
    const first = await harness.start([await createEmailConsumer({ mailer: stalling, config })], {
      ackWaitMs: 2000,
      shutdownTimeoutMs: 100,
    });
    const to = recipient();

    const messageId = await harness.publish('email', {
      to,
      template: 'verification',
      vars: { token: TOKEN, display_name: 'Ada' },
    });
    await catcher.waitForMail(to);
    await first.close();
    release();
    await eventually('the send to be recorded', async () =>
      (await harness.redis.exists(redisKeys.jobDedup(messageId))) === 1 ? true : undefined,
    );
    expect(await harness.streamMessages('email')).toBe(1);

    const second = await harness.start([await createEmailConsumer({ mailer, config })], {
      ackWaitMs: 2000,
    });
    await eventually('the redelivery to be skipped', async () =>
      (await second.metric('worker_jobs_duplicate_total', durable)) === 1 ? true : undefined,
    );
    await eventually('the job to be acked', async () =>
      (await harness.streamMessages('email')) === 0 ? true : undefined,
    );
    expect(await second.metric('worker_jobs_processed_total', durable)).toBe(0);
    expect(catcher.mailsTo(to)).toHaveLength(1);
  });

  it('When the SMTP server is down, then the job is retried and delivered once the server is up', async () => {
    const port = await freePort();
    const downMailer = mailerTo(port);
    const runner = await harness.start(
      [await createEmailConsumer({ mailer: downMailer, config })],
      // The catcher starts right after the first failure; the later delays keep the job from
      // the dead-letter queue however long that takes on a loaded machine.
      { retryDelaysMs: [300, 1000, 1000, 1000, 1000] },
    );
    const to = recipient();

    await harness.publish('email', {
      to,
      template: 'verification',
      vars: { token: TOKEN, display_name: 'Ada' },
    });
    await eventually('a failed send', async () =>
      (await runner.metric('worker_jobs_failed_total', durable)) >= 1 ? true : undefined,
    );
    const lateServer = await startMailCatcher({ port });
    try {
      const mail = await lateServer.waitForMail(to);
      expect(mail.subject).toBe(`Verify your email for ${config.projectName}`);
      await eventually('the job to be acked', async () =>
        (await harness.streamMessages('email')) === 0 ? true : undefined,
      );
      expect(await runner.metric('worker_jobs_processed_total', durable)).toBe(1);
      expect(await harness.deadLetters()).toEqual([]);
    } finally {
      // The pool keeps its connection open, and the server's close waits for it to end.
      await runner.close();
      downMailer.close();
      await lateServer.close();
    }
  });

  it('When a job lacks a variable its template needs, then it is dead-lettered at once and nothing is sent', async () => {
    const runner = await harness.start([await createEmailConsumer({ mailer, config })]);
    const to = recipient();

    await harness.publish('email', {
      to,
      template: 'verification',
      vars: { display_name: 'Ada' },
    });
    await harness.publish('email', { to, template: 'notice', vars: { title: 'No message' } });

    const letters = await eventually('two dead letters', async () => {
      const found = await harness.deadLetters();
      return found.length === 2 ? found : undefined;
    });
    expect(letters.map((l) => [l.deliveryCount, l.reason])).toEqual([
      [1, expect.stringMatching(/^invalid email payload: vars\.token /)],
      [1, expect.stringMatching(/^invalid email payload: vars\.message /)],
    ]);
    expect(await runner.metric('worker_jobs_failed_total', durable)).toBe(0);
    expect(await harness.streamMessages('email')).toBe(0);
    expect(catcher.mailsTo(to)).toEqual([]);
  });
});
