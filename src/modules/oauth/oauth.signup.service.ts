import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import { newId } from '../../shared/db/ids.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { recordAction } from '../action-logs/action-logs.recorder.ts';
import { isReservedHandle } from '../users/handle-rules.ts';
import { findById, handleExists, insertUser } from '../users/users.repository.ts';
import {
  findPendingSignup,
  markPendingSignupCompleted,
  type PendingSignup,
} from './oauth.pending-signup.ts';
import { providerLabels } from './oauth.providers.ts';
import { findConnection, insertConnection } from './oauth.repository.ts';

type OAuthSignupDependencies = Pick<Dependencies, 'db' | 'redis' | 'nats' | 'logger'>;

export interface CompletedSignup {
  userId: string;
  summary: string;
}

const pendingInvalid = () =>
  new AppError(
    'oauth:pending_signup_invalid',
    'The sign-up expired; sign in with the provider again',
  );
/**
 * How long a used pending token still signs in: enough for a client to retry a
 * complete-signup whose answer it lost, short enough that a leaked token is no standing way
 * in after a password reset or a sign-out everywhere, which know nothing of the token.
 */
const RETRY_AFTER_SUCCESS_MS = 60_000;
const handleTaken = () => new AppError('user:handle_already_exists', 'The handle is already taken');

export function createOAuthSignupService(deps: OAuthSignupDependencies) {
  const redis = deps.redis.session;

  /**
   * The account this pending sign-up already created, while the token may still sign in to it.
   * A token is no second factor: once the account has TOTP, a retry no longer signs in, and
   * the owner goes through oauthLogin. Nor does it outlive the provider account's link: after
   * an unlink (which ends the account's other sessions) the token proves nothing any more.
   */
  async function existingAccount(signup: PendingSignup, userId: string): Promise<CompletedSignup> {
    if (
      signup.completed_at !== undefined &&
      Date.now() - signup.completed_at > RETRY_AFTER_SUCCESS_MS
    ) {
      throw pendingInvalid();
    }
    const connection = await findConnection(
      deps.db.write,
      signup.provider,
      signup.provider_user_id,
    );
    if (connection?.user_id !== userId) throw pendingInvalid();
    const user = await findById(deps.db.write, userId);
    if (!user || user.totp_enabled_at !== null) throw pendingInvalid();
    return { userId, summary: `Logged in with ${providerLabels[signup.provider]}` };
  }

  /** The account this sign-up created, if a concurrent request completed it. */
  async function completedMeanwhile(signup: PendingSignup): Promise<string | undefined> {
    const connection = await findConnection(
      deps.db.write,
      signup.provider,
      signup.provider_user_id,
    );
    const owner = connection && (await findById(deps.db.write, connection.user_id));
    return owner?.email === signup.email ? owner.id : undefined;
  }

  /** Creates the account, its connection, its log, index and avatar jobs as one unit. */
  async function createAccount(
    signup: PendingSignup,
    handle: string,
    actorIp: string,
  ): Promise<{ kind: 'created'; userId: string } | { kind: 'conflict' }> {
    const userId = newId();
    return withTransaction(deps.db.write, async (trx) => {
      const inserted = await insertUser(trx, {
        id: userId,
        handle,
        display_name: signup.display_name ?? handle,
        email: signup.email,
        password: null,
        // The provider verified the address; no verification email is sent.
        verified_at: new Date(),
      });
      if (!inserted) return { kind: 'conflict' as const };
      // Linked to an account through oauthLink since the pending sign-up was issued.
      if (
        !(await insertConnection(trx, {
          id: newId(),
          user_id: userId,
          provider: signup.provider,
          provider_user_id: signup.provider_user_id,
        }))
      ) {
        throw pendingInvalid();
      }
      await recordAction(deps, trx, {
        action: 'user:create',
        actor_id: userId,
        actor_ip: actorIp,
        resource_type: 'user',
        resource_id: userId,
        summary: `Signed up with ${providerLabels[signup.provider]} as @${handle}`,
        metadata: { provider: signup.provider },
      });
      await enqueueJob(trx, 'indexUser', { user_id: userId, action: 'index' });
      if (signup.avatar_url !== null) {
        await enqueueJob(trx, 'importAvatar', { user_id: userId, url: signup.avatar_url });
      }
      return { kind: 'created' as const, userId };
    });
  }

  return {
    /**
     * Turns a pending OAuth sign-up into an account with the chosen handle. Idempotent: a
     * retry within a minute of success (the answer lost, or a concurrent double submit) signs
     * in to the same account. A taken handle leaves the token usable for another try.
     */
    async complete(input: {
      pendingToken: string;
      handle: string;
      actorIp: string;
    }): Promise<CompletedSignup> {
      const signup = await findPendingSignup(redis, input.pendingToken);
      if (!signup) throw pendingInvalid();
      if (signup.user_id !== undefined) return existingAccount(signup, signup.user_id);
      if (isReservedHandle(input.handle)) throw handleTaken();
      if (await handleExists(deps.db.write, input.handle)) {
        // Taken, perhaps by this very sign-up, completed by a concurrent request since the
        // token was read: then its account is the answer.
        const owner = await completedMeanwhile(signup);
        if (owner !== undefined) return existingAccount(signup, owner);
        throw handleTaken();
      }

      const created = await createAccount(signup, input.handle, input.actorIp);
      if (created.kind === 'conflict') {
        // The insert waited for whichever transaction took the handle or the address. That may
        // be this very sign-up, completed by a concurrent request (or by one whose mark on the
        // token was lost): then its account is the answer.
        const owner = await completedMeanwhile(signup);
        if (owner !== undefined) return existingAccount(signup, owner);
        if (await handleExists(deps.db.write, input.handle)) throw handleTaken();
        throw new AppError(
          'oauth:email_already_exists',
          'An account already uses this email; sign in to it and link the provider from there',
        );
      }
      await markPendingSignupCompleted(redis, input.pendingToken, signup, created.userId);
      return {
        userId: created.userId,
        summary: `Signed up with ${providerLabels[signup.provider]}`,
      };
    },
  };
}

export type OAuthSignupService = ReturnType<typeof createOAuthSignupService>;
