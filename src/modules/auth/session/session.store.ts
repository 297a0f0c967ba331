import RedisStore from 'connect-redis';
import type { SessionData } from 'express-session';
import type { RedisClient } from '../../../shared/clients/redis.ts';
import { redisKeys } from '../../../shared/constants/redis-keys.ts';
import { ttlSeconds } from './session.policy.ts';

type Done = (error?: unknown) => void;
const noop: Done = () => {};

/**
 * connect-redis with two changes to `set`: the TTL comes from the session's own sliding
 * expiry (so rewriting a session never extends it), and only a session being created may
 * make a new key. Any other save is `SET … XX`, so a request still in flight when its
 * session is revoked cannot write the session back.
 */
export class SessionStore extends RedisStore {
  readonly #redis: RedisClient;
  readonly #creating = new Set<string>();

  constructor(redis: RedisClient) {
    super({ client: redis, prefix: redisKeys.session(''), disableTouch: true });
    this.#redis = redis;
    // No touch at all: a session's expiry moves only when the session rules say so, and with
    // disableTouch connect-redis's touch does nothing, yet express-session would still call it
    // (an async call and its callback) at the end of every request whose session is unchanged.
    Object.defineProperty(this, 'touch', { value: undefined });
  }

  expectNew(sessionId: string): void {
    this.#creating.add(sessionId);
  }

  override async set(sessionId: string, data: SessionData, done: Done = noop): Promise<void> {
    const creating = this.#creating.delete(sessionId);
    const key = redisKeys.session(sessionId);
    const ttl = ttlSeconds(data, Date.now());
    try {
      // Only signed-in sessions are stored; anything else has no expiry and is dropped.
      if (ttl <= 0) await this.#redis.del(key);
      else if (creating) await this.#redis.set(key, JSON.stringify(data), 'EX', ttl);
      else await this.#redis.set(key, JSON.stringify(data), 'EX', ttl, 'XX');
      done();
    } catch (error) {
      done(error);
    }
  }
}
