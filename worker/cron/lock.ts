import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../src/shared/clients/redis.ts';
import { defineRedisScript } from '../../src/shared/clients/redis-script.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';

/*
 * One key per job. While a run holds it, the value is `run <tick> <token>`. When a scheduled
 * run ends the key is not deleted but turned into `done <tick>` for a while: replicas fire
 * the same tick a few milliseconds apart, and without that mark a replica whose timer fired
 * after a short run had already released the lock would run the tick a second time. The mark
 * only blocks its own tick, so it never delays the next one.
 */
const acquireScript = defineRedisScript(`
local current = redis.call('GET', KEYS[1])
if current and (string.sub(current, 1, 5) ~= 'done ' or current == ARGV[3]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

const extendScript = defineRedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

const releaseScript = defineRedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
`);

/** How long a finished tick stays marked; far beyond any timer drift between replicas. */
const TICK_MARK_MS = 60_000;

export interface CronLockOptions {
  /** The scheduled tick (its ISO time); omitted for manual runs, which leave no mark. */
  tick?: string;
  ttlMs: number;
  /** Called once when a heartbeat finds the key expired or held by someone else. */
  onLost(): void;
  /** A heartbeat that could not reach Redis; the next one retries while the TTL lasts. */
  onHeartbeatError(error: unknown): void;
}

export interface CronLock {
  /** Stops the heartbeat and gives the key up; false when it was no longer ours. */
  release(): Promise<boolean>;
}

/**
 * SET NX PX with a random token, kept alive by a compare-and-extend heartbeat every third of
 * the TTL, so a crashed holder's lock expires within one TTL while a live one never does.
 * Undefined when another holder has the lock or this tick already ran.
 */
export async function acquireCronLock(
  redis: RedisClient,
  job: string,
  options: CronLockOptions,
): Promise<CronLock | undefined> {
  const key = redisKeys.cronLock(job);
  const tick = options.tick ?? 'manual';
  const value = `run ${tick} ${randomUUID()}`;
  const mark = options.tick === undefined ? '' : `done ${options.tick}`;
  const acquired = await acquireScript(redis, [key], [value, options.ttlMs, mark]);
  if (acquired !== 1) return undefined;

  let released = false;
  let timer: NodeJS.Timeout | undefined;
  // A chain of timeouts rather than an interval, so a slow Redis never stacks heartbeats.
  const beat = () => {
    timer = setTimeout(
      () => {
        extendScript(redis, [key], [value, options.ttlMs])
          .then((extended) => {
            if (released) return;
            if (extended === 1) beat();
            else options.onLost();
          })
          .catch((error: unknown) => {
            if (released) return;
            options.onHeartbeatError(error);
            beat();
          });
      },
      Math.max(1, Math.floor(options.ttlMs / 3)),
    );
    timer.unref();
  };
  beat();

  return {
    async release() {
      released = true;
      clearTimeout(timer);
      const result = await releaseScript(redis, [key], [value, mark, TICK_MARK_MS]);
      return result === 1;
    },
  };
}
