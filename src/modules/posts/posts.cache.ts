import type { Dependencies } from '../../dependencies.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';

type PostCacheDependencies = Pick<Dependencies, 'redis' | 'logger' | 'config'>;

/**
 * A post as cached: the row and its body, without the author, whose handle and display name
 * come from the user snapshot cache, so renaming a user never needs to find their posts.
 */
export interface CachedPost {
  id: string;
  author_id: string;
  title: string;
  content: string;
  created_at: string;
  updated_at: string;
}

export interface CacheLookup {
  post: CachedPost | undefined;
  /** False while a tombstone lives (or the cache is down): the reader must not refill. */
  fillable: boolean;
}

/**
 * Left by an invalidation, as in users/user-snapshot.cache.ts. While it lives, readers go to
 * PostgreSQL and never refill, so a read that loaded the post before an edit committed cannot
 * put the old version back after the writer has answered.
 */
const TOMBSTONE = '-';
const TOMBSTONE_SECONDS = 10;

/**
 * Cache-aside for GET /v0/posts/{id} in the cache Redis. The cache is an optimisation, never
 * a dependency: when it is down, every read goes to PostgreSQL and the content store.
 */
export function createPostCache(deps: PostCacheDependencies) {
  const redis = deps.redis.cache;
  const ttlSeconds = deps.config.redis.cacheTtlSeconds;

  return {
    async lookup(postId: string): Promise<CacheLookup> {
      const cached = await redis.get(redisKeys.postCache(postId)).catch(() => TOMBSTONE);
      if (cached === null) return { post: undefined, fillable: true };
      if (cached === TOMBSTONE) return { post: undefined, fillable: false };
      return { post: JSON.parse(cached) as CachedPost, fillable: false };
    },

    async fill(post: CachedPost): Promise<void> {
      // NX: an invalidation since the lookup left a tombstone, which must win.
      await redis
        .set(redisKeys.postCache(post.id), JSON.stringify(post), 'EX', ttlSeconds, 'NX')
        .catch(() => undefined);
    },

    /** Called once the change has committed and before the writer answers. */
    async invalidate(postId: string): Promise<void> {
      try {
        await redis.set(redisKeys.postCache(postId), TOMBSTONE, 'EX', TOMBSTONE_SECONDS);
      } catch (error) {
        // The change has committed: failing the request would only invite a retry of
        // something that succeeded. REDIS_CACHE_TTL bounds the staleness instead.
        deps.logger.error('post cache invalidation failed', { err: error, post_id: postId });
      }
    },
  };
}

export type PostCache = ReturnType<typeof createPostCache>;
