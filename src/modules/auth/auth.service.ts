import type { Dependencies } from '../../dependencies.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { insertActionLog } from '../action-logs/action-logs.repository.ts';
import type { UserSnapshot } from '../users/user-snapshot.ts';
import { toMe, type Me } from '../users/users.mapper.ts';
import { findByEmail } from '../users/users.repository.ts';
import { verifyAgainstDummy, verifyPassword } from './password.ts';
import { createTotpTempToken } from './totp-temp-token.ts';

type AuthDependencies = Pick<Dependencies, 'db' | 'redis' | 'storage'>;

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

const invalidCredentials = () =>
  new AppError('auth:invalid_credentials', 'Invalid email or password');

export function createAuthService(deps: AuthDependencies) {
  const recordAction = (action: 'auth:login' | 'auth:logout', actor: Actor, summary: string) =>
    insertActionLog(deps.db.write, {
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
        });
        return { kind: 'totp_required', tempToken };
      }
      return { kind: 'signed_in', userId: user.id };
    },

    async recordLogin(actor: Actor): Promise<void> {
      await recordAction('auth:login', actor, 'Logged in with a password');
    },

    async recordLogout(actor: Actor): Promise<void> {
      await recordAction('auth:logout', actor, 'Logged out');
    },

    /** The signed-in user as they see themselves; the snapshot comes from the session check. */
    me(user: UserSnapshot): Me {
      return toMe(user, (key) => deps.storage.public.publicUrl(key));
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
