import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import { emailExists, updateEmail } from '../users/users.repository.ts';
import { createEmailTokens } from './email-tokens.ts';
import { redeemEmailToken } from './redeem-email-token.ts';
import { createReauthentication } from './reauthentication.ts';

type EmailChangeDependencies = Pick<Dependencies, 'db' | 'redis' | 'config' | 'logger'>;

const invalidToken = () =>
  new AppError('token:invalid_email_change', 'The confirmation link is invalid or has expired');
const emailTaken = (details: string) => new AppError('user:email_already_exists', details);

export function createEmailChangeService(deps: EmailChangeDependencies) {
  const tokens = createEmailTokens(deps.redis.session, deps.config.emailTokens);
  const snapshots = createUserSnapshotCache(deps);
  const reauthenticate = createReauthentication(deps);

  return {
    /**
     * Mails a confirmation link to the new address (proving the caller receives mail there)
     * and a heads-up to the current one; nothing changes until the link comes back.
     */
    async changeEmail(input: { userId: string; password: string; newEmail: string }) {
      const user = await reauthenticate(input.userId, input.password);
      const newEmail = input.newEmail.trim().toLowerCase();
      // One's own address is taken too: there is nothing to change or confirm.
      if (newEmail === user.email.toLowerCase()) {
        throw emailTaken('This already is the email address of the account');
      }
      if (await emailExists(deps.db.write, newEmail)) {
        throw emailTaken('The email address belongs to another account');
      }
      // The current address travels with the token: once the email changed by any route, an
      // older link no longer applies.
      const token = await tokens.issue('email_change', user.id, {
        new_email: newEmail,
        current_email: user.email,
      });
      await withTransaction(deps.db.write, async (trx) => {
        await enqueueJob(trx, 'email', {
          to: newEmail,
          template: 'email_change',
          vars: { token, display_name: user.display_name },
        });
        await enqueueJob(trx, 'email', {
          to: user.email,
          template: 'notice',
          vars: {
            title: 'Email address change requested',
            message:
              'A change of the email address of your account was requested; it takes effect ' +
              'when the link sent to the new address is opened. If this was not you, change ' +
              'your password now.',
          },
        });
      });
    },

    /** Redeems a confirmation token: the new address becomes the account's, verified. */
    async confirmEmailChange(token: string): Promise<void> {
      const redeemed = await redeemEmailToken(tokens, deps.db.write, {
        kind: 'email_change',
        token,
        mailedTo: 'current_email',
      });
      const newEmail = redeemed?.data.new_email;
      if (!redeemed || !newEmail) throw invalidToken();
      const { user } = redeemed;
      if (!(await updateEmail(deps.db.write, user.id, newEmail))) {
        throw emailTaken('The email address now belongs to another account');
      }
      await snapshots.invalidate(user.id);
    },
  };
}

export type EmailChangeService = ReturnType<typeof createEmailChangeService>;
