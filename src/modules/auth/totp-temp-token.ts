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
