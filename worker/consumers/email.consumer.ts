import { defineConsumer } from '../runner.ts';
import { createEmailRenderer } from '../templates/email-renderer.ts';
import type { ConsumerDependencies } from './dependencies.ts';

/**
 * Renders and sends one email per job. Templates compile here, at worker start. A failed send
 * throws, so the runner retries with backoff; once sent, a redelivery is skipped by message id
 * (sideEffects), so an ack lost after the send does not mail the user twice.
 */
export async function createEmailConsumer({
  mailer,
  config,
}: Pick<ConsumerDependencies, 'mailer' | 'config'>) {
  const renderer = await createEmailRenderer({
    projectName: config.projectName,
    frontend: config.frontend,
  });
  return defineConsumer({
    job: 'email',
    sideEffects: true,
    async handle(payload, ctx) {
      const { messageId } = await mailer.send({ to: payload.to, ...renderer.render(payload) });
      // The address is personal data: the template and SMTP id are enough to trace a send.
      ctx.logger.info('email sent', { template: payload.template, smtp_message_id: messageId });
    },
  });
}
