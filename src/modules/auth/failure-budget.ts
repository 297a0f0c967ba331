import type { RedisClient } from '../../shared/clients/redis.ts';
import { defineRedisScript } from '../../shared/clients/redis-script.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import type { ErrorCode } from '../../shared/errors/codes.ts';

export interface FailureBudgetPolicy {
  /** Wrong answers a user may give within the window; the next check is refused. */
  limit: number;
  windowSeconds: number;
}

// The check is reserved before it runs, so concurrent guesses cannot all be evaluated while
// the counter is still below the limit: at most `limit` checks are ever in flight or failed.
// The window opens with the first check and is not extended by the checks it refuses.
// ARGV: limit, window in ms. Returns 0 when reserved, else the ms until the window passes.
const reserveScript = defineRedisScript(`
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('SET', KEYS[1], 0, 'PX', ARGV[2]) end
if tonumber(redis.call('GET', KEYS[1])) >= tonumber(ARGV[1]) then
  return math.max(redis.call('PTTL', KEYS[1]), 1)
end
redis.call('INCR', KEYS[1])
return 0`);

// A right answer (or a check that could not decide) gives its reservation back. Only a live
// counter is decremented: DECR alone would recreate an expired one without a TTL.
const refundScript = defineRedisScript(`
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent > 0 then redis.call('DECR', KEYS[1]) end
return 0`);

export interface FailureBudget {
  /**
   * Runs a check of something only the user knows (a password, a TOTP or backup code) under
   * the user's budget. While the budget is spent the check does not run and the answer is 429
   * with Retry-After; a check that returns false spends one unit of the budget.
   */
  guard(userId: string, check: () => Promise<boolean>): Promise<boolean>;
}

/**
 * A per-user budget of wrong answers, shared by every session, IP and temp token of the user:
 * a stolen session cookie, or many, cannot guess a 6-digit code or a password faster than the
 * owner is allowed to mistype it.
 */
export function createFailureBudget(
  redis: RedisClient,
  input: {
    name: string;
    policy: FailureBudgetPolicy;
    lockedCode: ErrorCode;
    lockedMessage: string;
  },
): FailureBudget {
  const windowMs = input.policy.windowSeconds * 1000;
  return {
    async guard(userId, check) {
      const key = redisKeys.failureBudget(input.name, userId);
      const lockedForMs = Number(await reserveScript(redis, [key], [input.policy.limit, windowMs]));
      if (lockedForMs > 0) {
        const retryAfter = String(Math.ceil(lockedForMs / 1000));
        throw new AppError(input.lockedCode, `${input.lockedMessage}; retry in ${retryAfter} s`, {
          headers: { 'Retry-After': retryAfter },
        });
      }
      let refund = true;
      try {
        const right = await check();
        refund = right;
        return right;
      } finally {
        // A refund that fails costs the user one unit until the window passes; it must not
        // replace the check's own answer or error.
        if (refund) await refundScript(redis, [key]).catch(() => undefined);
      }
    },
  };
}
