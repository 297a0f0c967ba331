import type { Dependencies } from '../../dependencies.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { findById } from '../users/users.repository.ts';
import { createFailureBudget } from './failure-budget.ts';
import { verifyPassword } from './password.ts';

type ReauthenticationDependencies = Pick<Dependencies, 'db' | 'redis' | 'config'>;

/**
 * Re-authentication for account changes (change password, change email), against the primary's
 * row (the hash a concurrent change just wrote). Wrong passwords spend the user's password
 * budget, so a stolen session cannot guess the password through these operations. Returns the
 * user.
 */
export function createReauthentication(deps: ReauthenticationDependencies) {
  const budget = createFailureBudget(deps.redis.session, {
    name: 'password',
    policy: deps.config.failureBudgets.password,
    lockedCode: 'password:too_many_attempts',
    lockedMessage: 'Too many wrong passwords for this account',
  });

  return async function reauthenticate(userId: string, candidate: string): Promise<UserRow> {
    const user = await findById(deps.db.write, userId);
    // The account was deleted after the session was checked.
    if (!user) throw new AppError('auth:unauthorized', 'Not signed in');
    const { password } = user;
    // An OAuth-only account has nothing to check, and so nothing to guess.
    if (password === null) {
      throw new AppError('password:not_set', 'This account has no password');
    }
    if (!(await budget.guard(user.id, () => verifyPassword(password, candidate)))) {
      throw new AppError('password:incorrect', 'The password is incorrect');
    }
    return user;
  };
}
