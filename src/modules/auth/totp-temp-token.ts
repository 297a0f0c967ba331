import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { defineRedisScript } from '../../shared/clients/redis-script.ts';
import { execAll } from './redis-exec.ts';

/** How long a password login waits for its TOTP code. */
export const TOTP_TEMP_TOKEN_TTL_SECONDS = 300;

/**
 * The Redis hash behind a temp token (all values are strings in Redis): `user_id`,
 * `remember_me` ('1' | '0'), `signed_in_with`, the first factor as the action log names it
 * ('a password', 'Google'), and `attempts`, the count of codes tried so far.
 */
export interface TotpTempTokenRecord {
  user_id: string;
  remember_me: '1' | '0';
  signed_in_with: string;
  attempts: string;
}

export function hashTotpTempToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues the 256-bit token returned by a login that still needs its second factor. */
export async function createTotpTempToken(
  redis: RedisClient,
  input: { userId: string; rememberMe: boolean; signedInWith: string },
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const record: TotpTempTokenRecord = {
    user_id: input.userId,
    remember_me: input.rememberMe ? '1' : '0',
    signed_in_with: input.signedInWith,
    attempts: '0',
  };
  const key = redisKeys.totpTempToken(hashTotpTempToken(token));
  await execAll(redis.multi().hset(key, record).expire(key, TOTP_TEMP_TOKEN_TTL_SECONDS));
  return token;
}

/** Codes a temp token lets through to a check; the next attempt burns it. */
export const TOTP_TEMP_TOKEN_MAX_ATTEMPTS = 5;

// Counts the attempt before the code is evaluated, so concurrent guesses on one token cannot
// all be evaluated while the count still reads low: of any number of attempts, at most the
// limit ever reach a code check. Only a live token is counted (HINCRBY alone would recreate
// an expired one with no TTL), and one past the limit deletes it in the same step.
// Returns {0} for an unknown token, {-1} when this attempt burned it, else {1, user_id,
// remember_me, signed_in_with}.
const attemptScript = defineRedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return {-1}
end
local record = redis.call('HMGET', KEYS[1], 'user_id', 'remember_me', 'signed_in_with')
return {1, record[1], record[2], record[3]}`);

export type TotpTempTokenAttempt =
  | { kind: 'counted'; userId: string; rememberMe: boolean; signedInWith: string }
  | { kind: 'burned' }
  | { kind: 'gone' };

/**
 * Spends one of the token's attempts: 'counted' (with the login it belongs to) while it has
 * some left, 'burned' when this attempt went past the limit, 'gone' when the token had already
 * expired, been used or been burned.
 */
export async function attemptTotpTempToken(
  redis: RedisClient,
  token: string,
): Promise<TotpTempTokenAttempt> {
  const reply = (await attemptScript(
    redis,
    [redisKeys.totpTempToken(hashTotpTempToken(token))],
    [TOTP_TEMP_TOKEN_MAX_ATTEMPTS],
  )) as [number, string?, string?, string?];
  if (reply[0] === 0) return { kind: 'gone' };
  if (reply[0] === -1) return { kind: 'burned' };
  return {
    kind: 'counted',
    userId: reply[1] ?? '',
    rememberMe: reply[2] === '1',
    // A token issued before the field existed came from the only first factor there was.
    signedInWith: reply[3] ?? 'a password',
  };
}

/** Uses the token up; false when another request already did (or it expired meanwhile). */
export async function consumeTotpTempToken(redis: RedisClient, token: string): Promise<boolean> {
  return (await redis.del(redisKeys.totpTempToken(hashTotpTempToken(token)))) > 0;
}
