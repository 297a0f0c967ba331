import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import { withTransaction, type Executor } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import { findByEmail, findById, updatePassword } from '../users/users.repository.ts';
import { createEmailTokens } from './email-tokens.ts';
import { redeemEmailToken } from './redeem-email-token.ts';
import {
  exceedsPasswordByteLimit,
  hashPassword,
  PASSWORD_MAX_BYTES,
  verifyPassword,
} from './password.ts';
import { revokeUserSessions } from './session/session.revocation.ts';

type PasswordFlowsDependencies = Pick<Dependencies, 'db' | 'redis' | 'config' | 'logger'>;

const invalidResetToken = () =>
  new AppError('token:invalid_reset', 'The password reset link is invalid or has expired');
const passwordTooLong = () =>
  new AppError(
    'general:validation_error',
    `new_password must be at most ${PASSWORD_MAX_BYTES} bytes`,
  );

/**
 * Re-authentication for account changes, against the primary's row (the hash a concurrent
 * change just wrote); an OAuth-only account has nothing to check. Returns the user.
 */
export async function reauthenticate(
  db: Executor,
  userId: string,
  candidate: string,
): Promise<UserRow> {
  const user = await findById(db, userId);
  // The account was deleted after the session was checked.
  if (!user) throw new AppError('auth:unauthorized', 'Not signed in');
  if (user.password === null) {
    throw new AppError('password:not_set', 'This account has no password');
  }
  if (!(await verifyPassword(user.password, candidate))) {
    throw new AppError('password:incorrect', 'The password is incorrect');
  }
  return user;
}

export function createPasswordFlowsService(deps: PasswordFlowsDependencies) {
  const tokens = createEmailTokens(deps.redis.session, deps.config.emailTokens);
  const snapshots = createUserSnapshotCache(deps);

  return {
    /**
     * Mails a reset link to an account that has a password, and does nothing otherwise; the
     * caller answers the same either way, so whether an address is registered never leaks.
     */
    async forgotPassword(email: string): Promise<void> {
      const user = await findByEmail(deps.db.write, email);
      if (!user?.password) return;
      // The address travels with the token: a link mailed before an email change dies with it.
      const token = await tokens.issue('password_reset', user.id, { email: user.email });
      await enqueueJob(deps.db.write, 'email', {
        to: user.email,
        template: 'password_reset',
        vars: { token, display_name: user.display_name },
      });
    },

    /** Sets a new password with a reset token and ends every session of the account. */
    async resetPassword(token: string, newPassword: string): Promise<void> {
      // Checked before the token is redeemed, so a refused password does not burn the link.
      if (exceedsPasswordByteLimit(newPassword)) throw passwordTooLong();
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
      const user = await reauthenticate(deps.db.write, input.userId, input.currentPassword);
      if (input.newPassword === input.currentPassword) {
        throw new AppError('password:same_as_current', 'The new password is the current one');
      }
      if (exceedsPasswordByteLimit(input.newPassword)) throw passwordTooLong();
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
