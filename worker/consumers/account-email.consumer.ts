import { createAccountEmailService } from '../../src/modules/auth/account-email.service.ts';
import { defineConsumer } from '../runner.ts';
import { createEmailRenderer } from '../templates/email-renderer.ts';
import type { ConsumerDependencies } from './dependencies.ts';

/**
 * Turns a link asked for by address into its email, or into nothing for an address that gets
 * none. A redelivery after the send is skipped by message id (sideEffects); one before it
 * mints a fresh token, which replaces the unsent one.
 */
export async function createAccountEmailConsumer(
  deps: Pick<ConsumerDependencies, 'mailer' | 'config' | 'db' | 'redis'>,
) {
  const accountEmails = createAccountEmailService({ ...deps, sessionRedis: deps.redis });
  const renderer = await createEmailRenderer({
    projectName: deps.config.projectName,
    frontend: deps.config.frontend,
  });
  return defineConsumer({
    job: 'accountEmail',
    sideEffects: true,
    async handle(payload, ctx) {
      const email = await accountEmails.compose(payload);
      // The address is personal data: the flow is enough to trace what happened.
      if (!email) {
        ctx.logger.info('no account email for the address', { flow: payload.flow });
        return;
      }
      const { messageId } = await deps.mailer.send({ to: email.to, ...renderer.render(email) });
      ctx.logger.info('email sent', { template: email.template, smtp_message_id: messageId });
    },
  });
}
