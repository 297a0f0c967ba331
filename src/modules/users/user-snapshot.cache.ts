import type { Dependencies } from '../../dependencies.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import { findSnapshotById } from './users.repository.ts';
import { parseSnapshot, serializeSnapshot, type UserSnapshot } from './user-snapshot.ts';

type SnapshotCacheDependencies = Pick<Dependencies, 'db' | 'redis' | 'logger'>;

/**
 * Left by an invalidation. While it lives, readers go to PostgreSQL and never refill, so a
 * read that fetched the row before a write committed cannot put the old row back.
 */
const TOMBSTONE = '-';
const TOMBSTONE_SECONDS = 10;

/**
 * Every write invalidates, so this only bounds how long a lost invalidation (the cache Redis
 * down while a write committed) can show an old snapshot.
 */
const SNAPSHOT_TTL_SECONDS = 300;

/**
 * Cache-aside for the user snapshot every authenticated request needs, in the cache Redis:
 * a signed-in request then costs Redis reads only, never a PostgreSQL round trip. The cache
 * is an optimisation, never a dependency: when it is down, reads go to the primary.
 *
 * Every code path that changes a column of the snapshot (or deletes a user) must call
 * `invalidate` once its transaction has committed.
 */
export function createUserSnapshotCache(deps: SnapshotCacheDependencies) {
  const redis = deps.redis.cache;

  return {
    async get(userId: string): Promise<UserSnapshot | undefined> {
      const key = redisKeys.userSnapshot(userId);
      const cached = await redis.get(key).catch(() => TOMBSTONE);
      if (cached !== null && cached !== TOMBSTONE) return parseSnapshot(cached);
      // The primary, so the owner always sees their own writes.
      const snapshot = await findSnapshotById(deps.db.write, userId);
      if (snapshot && cached === null) {
        // NX: an invalidation since the GET above left a tombstone, which must win.
        await redis
          .set(key, serializeSnapshot(snapshot), 'EX', SNAPSHOT_TTL_SECONDS, 'NX')
          .catch(() => undefined);
      }
      return snapshot;
    },

    async invalidate(userId: string): Promise<void> {
      try {
        await redis.set(redisKeys.userSnapshot(userId), TOMBSTONE, 'EX', TOMBSTONE_SECONDS);
      } catch (error) {
        // The write it follows has committed: failing the request now would only invite a
        // retry of something that succeeded. The TTL bounds the staleness instead.
        deps.logger.error('user snapshot invalidation failed', { err: error, user_id: userId });
      }
    },
  };
}

export type UserSnapshotCache = ReturnType<typeof createUserSnapshotCache>;
