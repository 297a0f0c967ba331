import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { execAll } from './redis-exec.ts';

/** How long a password login waits for its TOTP code. */
export const TOTP_TEMP_TOKEN_TTL_SECONDS = 300;

/**
 * The Redis hash behind a temp token (all values are strings in Redis): `user_id`,
 * `remember_me` ('1' | '0') and `attempts`, the count of wrong codes so far.
 */
export interface TotpTempTokenRecord {
  user_id: string;
  remember_me: '1' | '0';
  attempts: string;
}

export function hashTotpTempToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues the 256-bit token returned by a login that still needs its second factor. */
export async function createTotpTempToken(
  redis: RedisClient,
  input: { userId: string; rememberMe: boolean },
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const record: TotpTempTokenRecord = {
    user_id: input.userId,
    remember_me: input.rememberMe ? '1' : '0',
    attempts: '0',
  };
  const key = redisKeys.totpTempToken(hashTotpTempToken(token));
  await execAll(redis.multi().hset(key, record).expire(key, TOTP_TEMP_TOKEN_TTL_SECONDS));
  return token;
}

/** Wrong codes a temp token survives; the next wrong one burns it. */
export const TOTP_TEMP_TOKEN_MAX_WRONG_CODES = 5;

/** The token's record, or undefined when it is unknown, expired or burned. */
export async function readTotpTempToken(
  redis: RedisClient,
  token: string,
): Promise<TotpTempTokenRecord | undefined> {
  const record = await redis.hgetall(redisKeys.totpTempToken(hashTotpTempToken(token)));
  return record.user_id ? (record as unknown as TotpTempTokenRecord) : undefined;
}

// Counts only on a live token (HINCRBY alone would recreate an expired one with no TTL) and
// deletes it past the limit in the same step, so concurrent wrong codes cannot overshoot.
const RECORD_WRONG_CODE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return attempts`;

/**
 * Counts a wrong code: 'counted' while the token lives, 'burned' when this one went past the
 * limit, 'gone' when the token had already expired or been used.
 */
export async function recordWrongTotpCode(
  redis: RedisClient,
  token: string,
): Promise<'counted' | 'burned' | 'gone'> {
  const attempts = Number(
    await redis.eval(
      RECORD_WRONG_CODE,
      1,
      redisKeys.totpTempToken(hashTotpTempToken(token)),
      TOTP_TEMP_TOKEN_MAX_WRONG_CODES,
    ),
  );
  if (attempts < 0) return 'gone';
  return attempts > TOTP_TEMP_TOKEN_MAX_WRONG_CODES ? 'burned' : 'counted';
}

/** Uses the token up; false when another request already did (or it expired meanwhile). */
export async function consumeTotpTempToken(redis: RedisClient, token: string): Promise<boolean> {
  return (await redis.del(redisKeys.totpTempToken(hashTotpTempToken(token)))) > 0;
}
