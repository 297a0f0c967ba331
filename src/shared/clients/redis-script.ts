import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.ts';

export type RedisScript = (
  redis: RedisClient,
  keys: readonly string[],
  args?: readonly (string | number)[],
) => Promise<unknown>;

const isNoScript = (error: unknown) =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * A Lua script run by its SHA: each call sends EVALSHA, and a Redis that lost its scripts
 * (restart, SCRIPT FLUSH, failover) answers NOSCRIPT, on which the body is sent once with
 * EVAL, which loads it again. The body crosses the wire once per Redis server, not once per
 * call. (ioredis's own `defineCommand` does the same but breaks under auto-pipelining.)
 *
 * Every key a script reads or writes must come in `keys`, so Redis (and a Cluster's routing)
 * sees what it touches. On a Cluster the keys of one call must also share a hash slot; the
 * session Redis is a single server today, and a move to Cluster needs hash tags in redis-keys.ts.
 */
export function defineRedisScript(lua: string): RedisScript {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (redis, keys, args = []) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
  };
}
