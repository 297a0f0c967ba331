import type { RedisClient } from '../../../shared/clients/redis.ts';
import { redisKeys } from '../../../shared/constants/redis-keys.ts';
import { execAll } from '../redis-exec.ts';
import type { SessionFields } from './session.policy.ts';

/**
 * The per-user index `user_sessions:{user_id}`: a sorted set of session ids scored by their
 * sliding expiry, so a user's sessions are listed and revoked without SCAN. Entries of
 * sessions that expired or were deleted elsewhere are pruned lazily when the index is read.
 */

export interface IndexedSession {
  sessionId: string;
  fields: SessionFields;
}

export async function indexSession(
  redis: RedisClient,
  userId: string,
  sessionId: string,
  fields: Pick<SessionFields, 'expires_at' | 'max_expires_at'>,
): Promise<void> {
  const key = redisKeys.userSessions(userId);
  // The index lives as long as its longest session could: NX gives a new key an expiry,
  // GT only ever extends it.
  await execAll(
    redis
      .multi()
      .zadd(key, fields.expires_at, sessionId)
      .pexpireat(key, fields.max_expires_at, 'NX')
      .pexpireat(key, fields.max_expires_at, 'GT'),
  );
}

export async function unindexSessions(
  redis: RedisClient,
  userId: string,
  sessionIds: string[],
): Promise<void> {
  if (sessionIds.length === 0) return;
  await redis.zrem(redisKeys.userSessions(userId), ...sessionIds);
}

/** Deletes the sessions and their index entries together. */
export async function deleteSessions(
  redis: RedisClient,
  userId: string,
  sessionIds: string[],
): Promise<void> {
  if (sessionIds.length === 0) return;
  await execAll(
    redis
      .multi()
      .del(...sessionIds.map((id) => redisKeys.session(id)))
      .zrem(redisKeys.userSessions(userId), ...sessionIds),
  );
}

function parseFields(raw: string | null, userId: string): SessionFields | undefined {
  if (raw === null) return undefined;
  const fields = JSON.parse(raw) as Partial<SessionFields>;
  return fields.user_id === userId ? (fields as SessionFields) : undefined;
}

/** The user's live sessions, read in one MGET after dropping index entries past their expiry. */
export async function listIndexedSessions(
  redis: RedisClient,
  userId: string,
  now = Date.now(),
): Promise<IndexedSession[]> {
  const key = redisKeys.userSessions(userId);
  const [, members] = await execAll(
    redis.multi().zremrangebyscore(key, '-inf', now).zrange(key, 0, '-1'),
  );
  const sessionIds = members as string[];
  if (sessionIds.length === 0) return [];
  const values = await redis.mget(...sessionIds.map((id) => redisKeys.session(id)));
  const live: IndexedSession[] = [];
  const gone: string[] = [];
  sessionIds.forEach((sessionId, i) => {
    const fields = parseFields(values[i] ?? null, userId);
    if (fields) live.push({ sessionId, fields });
    else gone.push(sessionId);
  });
  await unindexSessions(redis, userId, gone);
  return live;
}
