import type { Dependencies } from '../../dependencies.ts';
import { withTransaction, type Executor } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { recordAction as recordActionLog } from '../action-logs/action-logs.recorder.ts';
import type { UserSnapshot } from '../users/user-snapshot.ts';
import { toMe, type Me } from '../users/users.mapper.ts';
import { findByEmail } from '../users/users.repository.ts';
import { verifyAgainstDummy, verifyPassword } from './password.ts';
import { createTotpTempToken } from './totp-temp-token.ts';

type AuthDependencies = Pick<Dependencies, 'db' | 'redis' | 'storage' | 'nats' | 'logger'>;

export interface Credentials {
  email: string;
  password: string;
  rememberMe: boolean;
}

export type LoginOutcome =
  { kind: 'signed_in'; userId: string } | { kind: 'totp_required'; tempToken: string };

/** Who did it and from where, for the action log (the IP is always recorded). */
export interface Actor {
  userId: string;
  ip: string;
}

/** The HTTP layer's two steps of a sign-in, which the service orders around its own writes. */
export interface SessionSteps {
  /** Stores the new session; its cookie goes out with the response. */
  establish(): Promise<void>;
  /** Ends the session `establish` stored. */
  discard(): Promise<void>;
}

const invalidCredentials = () =>
  new AppError('auth:invalid_credentials', 'Invalid email or password');

export function createAuthService(deps: AuthDependencies) {
  const recordAction = (
    executor: Executor,
    action: 'auth:login' | 'auth:logout',
    actor: Actor,
    summary: string,
  ) =>
    recordActionLog(deps, executor, {
      action,
      actor_id: actor.userId,
      actor_ip: actor.ip,
      resource_type: 'user',
      resource_id: actor.userId,
      summary,
    });

  return {
    /**
     * Checks a password login. Unknown email, no password and a wrong password are one
     * answer after the same argon2 work; an unverified email is only revealed to whoever
     * knows the password. With TOTP on, no session yet: a temp token for the second step.
     */
    async login(credentials: Credentials): Promise<LoginOutcome> {
      // The primary: a login right after verifying the email must see verified_at.
      const user = await findByEmail(deps.db.write, credentials.email);
      if (!user?.password) {
        await verifyAgainstDummy(credentials.password);
        throw invalidCredentials();
      }
      if (!(await verifyPassword(user.password, credentials.password))) throw invalidCredentials();
      if (user.verified_at === null) {
        throw new AppError('auth:email_not_verified', 'Verify your email address to log in');
      }
      if (user.totp_enabled_at !== null) {
        const tempToken = await createTotpTempToken(deps.redis.session, {
          userId: user.id,
          rememberMe: credentials.rememberMe,
          signedInWith: 'a password',
        });
        return { kind: 'totp_required', tempToken };
      }
      return { kind: 'signed_in', userId: user.id };
    },

    /**
     * Signs the user in and writes `auth:login` as one unit. The log row is written first, in
     * a transaction that commits only once the session is stored: a failed write leaves no
     * session (and so no usable cookie on the error response), a failed session leaves no
     * log row, and should the commit itself fail, the stored session is ended again.
     */
    async signIn(actor: Actor, session: SessionSteps, summary: string): Promise<void> {
      let established = false;
      try {
        await withTransaction(deps.db.write, async (trx) => {
          await recordAction(trx, 'auth:login', actor, summary);
          await session.establish();
          established = true;
        });
      } catch (error) {
        if (established) {
          // The commit failed after the session was stored. The answer is the commit's error;
          // a failure to end the session as well is logged beside it, not thrown over it.
          await session.discard().catch((discardError: unknown) => {
            deps.logger.error('ending the session of a failed login failed', {
              err: discardError,
              user_id: actor.userId,
            });
          });
        }
        throw error;
      }
    },

    async recordLogout(actor: Actor): Promise<void> {
      await recordAction(deps.db.write, 'auth:logout', actor, 'Logged out');
    },

    /** The signed-in user as they see themselves; the snapshot comes from the session check. */
    me(user: UserSnapshot): Me {
      return toMe(user, (key) => deps.storage.public.publicUrl(key));
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
