import type { RedisClient } from '../../../shared/clients/redis.ts';
import { redisKeys } from '../../../shared/constants/redis-keys.ts';
import { deleteSessions } from './session.index.ts';

/**
 * Ends every session of a user (password reset), or every one but the caller's (password
 * change, TOTP disable, OAuth unlink). A deleted session stops working on its next request:
 * the store only rewrites sessions that still exist. Returns how many were revoked.
 */
export async function revokeUserSessions(
  redis: RedisClient,
  userId: string,
  options: { exceptSessionId?: string } = {},
): Promise<number> {
  const sessionIds = await redis.zrange(redisKeys.userSessions(userId), 0, '-1');
  const revoked = sessionIds.filter((id) => id !== options.exceptSessionId);
  await deleteSessions(redis, userId, revoked);
  return revoked.length;
}
