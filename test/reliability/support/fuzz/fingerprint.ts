import type { Redis } from 'ioredis';
import { redisKeys } from '../../../../src/shared/constants/redis-keys.ts';
import type { Database } from '../../../../src/shared/db/knex.ts';

/**
 * What a refused request must leave as it was: the fuzz user's row and posts, its live
 * sessions, and the size of every table a request can write to. Equal fingerprints before and
 * after a batch of refused requests mean the batch stored nothing.
 */
export async function fingerprint(db: Database, redis: Redis, userId: string): Promise<string> {
  const { rows } = await db.write.raw<{ rows: { f: unknown }[] }>(
    `select json_build_object(
       'user', (select row_to_json(u) from users u where id = :user),
       'posts', (select json_agg(p order by p.id) from posts p where author_id = :user),
       'users', (select count(*) from users),
       'all_posts', (select count(*) from posts),
       'action_logs', (select count(*) from action_logs),
       'connections', (select count(*) from user_oauth_connections),
       'outbox', (select count(*) from outbox)
     ) as f`,
    { user: userId },
  );
  const sessions = await redis.zcard(redisKeys.userSessions(userId));
  return JSON.stringify({ ...(rows[0]!.f as object), sessions });
}
