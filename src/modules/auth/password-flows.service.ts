import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import { updatePassword } from '../users/users.repository.ts';
import { createEmailTokens } from './email-tokens.ts';
import { redeemEmailToken } from './redeem-email-token.ts';
import { hashPassword } from './password.ts';
import { createReauthentication } from './reauthentication.ts';
import { revokeUserSessions } from './session/session.revocation.ts';

type PasswordFlowsDependencies = Pick<Dependencies, 'db' | 'redis' | 'config' | 'logger'>;

const invalidResetToken = () =>
  new AppError('token:invalid_reset', 'The password reset link is invalid or has expired');

export function createPasswordFlowsService(deps: PasswordFlowsDependencies) {
  const tokens = createEmailTokens(deps.redis.session, deps.config.emailTokens);
  const snapshots = createUserSnapshotCache(deps);
  const reauthenticate = createReauthentication(deps);

  return {
    /** Sets a new password with a reset token and ends every session of the account. */
    async resetPassword(token: string, newPassword: string): Promise<void> {
      const redeemed = await redeemEmailToken(tokens, deps.db.write, {
        kind: 'password_reset',
        token,
        mailedTo: 'email',
      });
      if (!redeemed) throw invalidResetToken();
      const { user } = redeemed;
      await updatePassword(deps.db.write, user.id, await hashPassword(newPassword));
      await snapshots.invalidate(user.id);
      await revokeUserSessions(deps.redis.session, user.id);
    },

    /**
     * Changes the password of the signed-in user: every other session ends (whoever else
     * held one may have known the old password), the caller's stays, and the owner is told.
     */
    async changePassword(input: {
      userId: string;
      sessionId: string;
      currentPassword: string;
      newPassword: string;
    }): Promise<void> {
      const user = await reauthenticate(input.userId, input.currentPassword);
      if (input.newPassword === input.currentPassword) {
        throw new AppError('password:same_as_current', 'The new password is the current one');
      }
      const passwordHash = await hashPassword(input.newPassword);
      await withTransaction(deps.db.write, async (trx) => {
        await updatePassword(trx, user.id, passwordHash);
        await enqueueJob(trx, 'email', {
          to: user.email,
          template: 'notice',
          vars: {
            title: 'Your password was changed',
            message:
              'The password of your account was just changed and your other sessions were ' +
              'signed out. If this was not you, reset your password now.',
          },
        });
      });
      await snapshots.invalidate(user.id);
      await revokeUserSessions(deps.redis.session, user.id, { exceptSessionId: input.sessionId });
    },
  };
}

export type PasswordFlowsService = ReturnType<typeof createPasswordFlowsService>;
