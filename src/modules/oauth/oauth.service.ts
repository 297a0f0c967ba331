import type { Dependencies } from '../../dependencies.ts';
import { newId } from '../../shared/db/ids.ts';
import type { OAuthProvider } from '../../shared/db/rows.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { recordAction } from '../action-logs/action-logs.recorder.ts';
import { revokeUserSessions } from '../auth/session/session.revocation.ts';
import { createTotpTempToken } from '../auth/totp-temp-token.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import { emailExists, findById, findByIdForUpdate } from '../users/users.repository.ts';
import { toOAuthConnection, type OAuthConnection } from './oauth.mapper.ts';
import { storePendingSignup } from './oauth.pending-signup.ts';
import { newPkcePair } from './oauth.pkce.ts';
import { createOAuthProviders, providerLabels } from './oauth.providers.ts';
import {
  deleteConnection,
  findConnection,
  insertConnection,
  listConnections,
} from './oauth.repository.ts';
import { consumeOAuthState, storeOAuthState, type OAuthFlow } from './oauth.state.ts';

type OAuthDependencies = Pick<Dependencies, 'config' | 'db' | 'redis' | 'nats' | 'logger'>;

/** The provider's redirect as the frontend passes it on, and the browser it came back to. */
export interface OAuthCallback {
  code: string;
  state: string;
  anonymousId: string;
}

export type OAuthLoginOutcome =
  | { kind: 'signed_in'; userId: string; summary: string }
  | { kind: 'totp_required'; tempToken: string }
  | { kind: 'pending_signup'; pendingToken: string; email: string; displayName: string | null };

export function createOAuthService(deps: OAuthDependencies) {
  const providers = createOAuthProviders(deps.config.oauth, deps.config.projectName);
  const redis = deps.redis.session;
  const snapshots = createUserSnapshotCache(deps);

  /** Checks the state first: no provider call is made for a callback this server did not start. */
  async function profileFrom(
    provider: OAuthProvider,
    flow: OAuthFlow,
    callback: OAuthCallback,
    userId?: string,
  ) {
    const enabled = providers.enabled(provider);
    const { code_verifier } = await consumeOAuthState(redis, callback.state, {
      provider,
      flow,
      anonymous_id: callback.anonymousId,
      ...(userId === undefined ? {} : { user_id: userId }),
    });
    return { enabled, profile: await enabled.signedInProfile(callback.code, code_verifier) };
  }

  return {
    /**
     * The provider URL to send the browser to, with a fresh state and PKCE challenge. A link
     * adds the provider to the account that starts it, so it needs a signed-in `userId`, and
     * its state is bound to that user.
     */
    async authorize(
      provider: OAuthProvider,
      request: { flow: OAuthFlow; anonymousId: string; userId: string | undefined },
    ) {
      if (request.flow === 'link' && request.userId === undefined) {
        throw new AppError('auth:unauthorized', 'Authentication required');
      }
      const enabled = providers.enabled(provider);
      const { verifier, challenge } = newPkcePair();
      const state = await storeOAuthState(
        redis,
        {
          provider,
          flow: request.flow,
          anonymous_id: request.anonymousId,
          ...(request.flow === 'link' ? { user_id: request.userId } : {}),
          code_verifier: verifier,
        },
        deps.config.oauth.stateTtlSeconds,
      );
      return enabled.authorizationUrl(state, challenge);
    },

    /**
     * A linked account signs in, through its second factor when it has one. An unknown
     * identity becomes a pending sign-up, unless its email already has an account: that
     * account's owner links the provider themselves, signed in, so a provider account that
     * merely claims an address never takes over the account registered with it.
     */
    async login(provider: OAuthProvider, callback: OAuthCallback): Promise<OAuthLoginOutcome> {
      const { enabled, profile } = await profileFrom(provider, 'login', callback);
      // The primary throughout: an account or link made a moment ago must be seen.
      const connection = await findConnection(deps.db.write, provider, profile.providerUserId);
      const user = connection && (await findById(deps.db.write, connection.user_id));
      if (user) {
        if (user.totp_enabled_at !== null) {
          const tempToken = await createTotpTempToken(redis, {
            userId: user.id,
            rememberMe: false,
            signedInWith: enabled.label,
          });
          return { kind: 'totp_required', tempToken };
        }
        return { kind: 'signed_in', userId: user.id, summary: `Logged in with ${enabled.label}` };
      }
      if (await emailExists(deps.db.write, profile.email)) {
        throw new AppError(
          'oauth:email_already_exists',
          `An account already uses this email; sign in to it and link ${enabled.label} from there`,
        );
      }
      const pendingToken = await storePendingSignup(
        redis,
        {
          provider,
          provider_user_id: profile.providerUserId,
          email: profile.email,
          display_name: profile.displayName,
          avatar_url: profile.avatarUrl,
        },
        deps.config.oauth.pendingSignupTtlSeconds,
      );
      return {
        kind: 'pending_signup',
        pendingToken,
        email: profile.email,
        displayName: profile.displayName,
      };
    },

    /** Adds the provider account to the signed-in user and writes `oauth:link` with it. */
    async link(
      provider: OAuthProvider,
      callback: OAuthCallback,
      actor: { userId: string; ip: string },
    ): Promise<void> {
      const { enabled, profile } = await profileFrom(provider, 'link', callback, actor.userId);
      await withTransaction(deps.db.write, async (trx) => {
        const linked = await insertConnection(trx, {
          id: newId(),
          user_id: actor.userId,
          provider,
          provider_user_id: profile.providerUserId,
        });
        if (!linked) {
          throw new AppError(
            'oauth:account_already_linked',
            `This ${enabled.label} account is linked already, or this account has another one`,
          );
        }
        await recordAction(deps, trx, {
          action: 'oauth:link',
          actor_id: actor.userId,
          actor_ip: actor.ip,
          resource_type: 'user',
          resource_id: actor.userId,
          summary: `Linked ${enabled.label}`,
          metadata: { provider },
        });
      });
      await snapshots.invalidate(actor.userId);
    },

    /** The primary: a list read right after linking must show the link. */
    async connections(userId: string): Promise<OAuthConnection[]> {
      return (await listConnections(deps.db.write, userId)).map(toOAuthConnection);
    },

    /**
     * Removes a connection unless it is the last way to sign in, then ends every other
     * session: whoever signed in through that provider elsewhere is signed out. The user row
     * is locked so two concurrent unlinks cannot each see the other connection remaining.
     */
    async unlink(input: {
      userId: string;
      sessionId: string;
      ip: string;
      provider: OAuthProvider;
    }): Promise<void> {
      const { userId, provider } = input;
      await withTransaction(deps.db.write, async (trx) => {
        const user = await findByIdForUpdate(trx, userId);
        if (!user) throw new AppError('auth:unauthorized', 'Authentication required');
        const connections = await listConnections(trx, userId);
        if (!connections.some((connection) => connection.provider === provider)) {
          throw new AppError(
            'oauth:connection_not_found',
            `${providerLabels[provider]} is not linked to this account`,
          );
        }
        if (user.password === null && connections.length === 1) {
          throw new AppError(
            'oauth:cannot_unlink_last_connection',
            `${providerLabels[provider]} is the only way to sign in to this account`,
          );
        }
        await deleteConnection(trx, userId, provider);
        await recordAction(deps, trx, {
          action: 'oauth:unlink',
          actor_id: userId,
          actor_ip: input.ip,
          resource_type: 'user',
          resource_id: userId,
          summary: `Unlinked ${providerLabels[provider]}`,
          metadata: { provider },
        });
      });
      await snapshots.invalidate(userId);
      await revokeUserSessions(redis, userId, { exceptSessionId: input.sessionId });
    },
  };
}

export type OAuthService = ReturnType<typeof createOAuthService>;
