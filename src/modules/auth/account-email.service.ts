import { enqueueJob } from '../../bridge/outbox.ts';
import type { SharedConfig } from '../../config/shared.ts';
import type { RedisClient } from '../../shared/clients/redis.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import type { JobPayload } from '../../shared/jobs/payloads.ts';
import { findByEmail } from '../users/users.repository.ts';
import { createEmailTokens } from './email-tokens.ts';

export type AccountEmailFlow = JobPayload<'accountEmail'>['flow'];

/** The link email a request turned into, as the email templates take it. */
export type AccountEmail = Extract<
  JobPayload<'email'>,
  { template: 'password_reset' | 'verification' }
>;

interface AccountEmailDependencies {
  db: { write: Executor };
  /** The session Redis, where email tokens live (the worker's only Redis). */
  sessionRedis: RedisClient;
  config: Pick<SharedConfig, 'emailTokens'>;
}

/**
 * Links asked for by address (forgot password, resend verification), in two halves. The
 * request only enqueues the address: the same one INSERT whether or not it has an account,
 * so neither the answer nor its timing tells a registered address from a stranger's. The
 * worker then decides whether the address gets a link, mints its token and mails it.
 */
export function createAccountEmailService(deps: AccountEmailDependencies) {
  const tokens = createEmailTokens(deps.sessionRedis, deps.config.emailTokens);

  return {
    async request(flow: AccountEmailFlow, email: string): Promise<void> {
      await enqueueJob(deps.db.write, 'accountEmail', { flow, email: email.trim().toLowerCase() });
    },

    /**
     * The email a request comes to, or undefined when the address gets none: unknown, or a
     * password reset for an account without a password, or a verification for one that is
     * already verified. Each call mints a new token, so the link mailed last is the live one.
     */
    async compose(job: JobPayload<'accountEmail'>): Promise<AccountEmail | undefined> {
      // The primary: a request right after signing up must find the new account.
      const user = await findByEmail(deps.db.write, job.email);
      if (!user) return undefined;
      if (job.flow === 'password_reset' ? !user.password : user.verified_at !== null) {
        return undefined;
      }
      // The address travels with the token: a link mailed before an email change dies with it.
      const token = await tokens.issue(job.flow, user.id, { email: user.email });
      return {
        to: user.email,
        template: job.flow,
        vars: { token, display_name: user.display_name },
      };
    },
  };
}

export type AccountEmailService = ReturnType<typeof createAccountEmailService>;
