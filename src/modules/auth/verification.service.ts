import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import { markVerified } from '../users/users.repository.ts';
import { createEmailTokens } from './email-tokens.ts';
import { redeemEmailToken } from './redeem-email-token.ts';

type VerificationDependencies = Pick<Dependencies, 'db' | 'redis' | 'config' | 'logger'>;

const invalidToken = () =>
  new AppError('token:invalid_verification', 'The verification link is invalid or has expired');
const alreadyVerified = () =>
  new AppError('email:already_verified', 'The email address is already verified');

export function createVerificationService(deps: VerificationDependencies) {
  const tokens = createEmailTokens(deps.redis.session, deps.config.emailTokens);
  const snapshots = createUserSnapshotCache(deps);

  /**
   * Issues a new verification token (the previous one dies) and writes the email job through
   * the caller's executor, inside its transaction when it has one. Redis is not part of that
   * transaction: if it rolls back, the token is an orphan that nobody received and that
   * expires on its own.
   */
  async function sendVerificationEmail(
    trx: Executor,
    user: Pick<UserRow, 'id' | 'email' | 'display_name'>,
  ): Promise<void> {
    // The address travels with the token: a link mailed before an email change cannot
    // verify the new address.
    const token = await tokens.issue('verification', user.id, { email: user.email });
    await enqueueJob(trx, 'email', {
      to: user.email,
      template: 'verification',
      vars: { token, display_name: user.display_name },
    });
  }

  return {
    sendVerificationEmail,

    /** Redeems a verification token and returns the user to sign in. */
    async verifyEmail(token: string): Promise<{ userId: string }> {
      const redeemed = await redeemEmailToken(tokens, deps.db.write, {
        kind: 'verification',
        token,
        mailedTo: 'email',
      });
      if (!redeemed) throw invalidToken();
      const { user } = redeemed;
      if (user.verified_at !== null) throw alreadyVerified();
      // Conditional update: of two racing verifications (e.g. with an email-change
      // confirmation) only one sets verified_at.
      if (!(await markVerified(deps.db.write, user.id))) throw alreadyVerified();
      await snapshots.invalidate(user.id);
      return { userId: user.id };
    },
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
