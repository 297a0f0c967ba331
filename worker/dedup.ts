import { randomUUID } from 'node:crypto';
import type { JsMsg } from 'nats';
import type { RedisClient } from '../src/shared/clients/redis.ts';
import { redisKeys } from '../src/shared/constants/redis-keys.ts';

/** Longer than any redelivery chain (a few minutes) or DLQ replay window an operator would use. */
const DEFAULT_TTL_SECONDS = 4 * 24 * 3600;

/** A delivery's hold on running a job's side effect, or how long another delivery still holds it. */
export type RunClaim = { renew(): Promise<void>; release(): Promise<void> } | { heldForMs: number };

export interface JobDedup {
  alreadyDone(messageId: string): Promise<boolean>;
  /** Called once the side effect succeeded; a redelivery of the same message is then skipped. */
  markDone(messageId: string): Promise<void>;
  /**
   * Claims the run for `ttlMs`, renewed while it goes, so a crashed holder blocks it no longer
   * than that. A job is redelivered while its first run still goes when JetStream stopped
   * hearing that it is alive for the ack wait (a partition, a stalled connection): the
   * redelivery, on this replica or another, must not send the same email alongside it.
   */
  claimRun(messageId: string, ttlMs: number): Promise<RunClaim>;
}

// Only the claim's own holder renews or removes it: after its expiry another may hold the key.
const RENEW_IF_HELD = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0`;
const RELEASE_IF_HELD = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0`;

/**
 * The outbox id travels as Nats-Msg-Id, so it names the job across relay retries; a message
 * published without one is still unique by its stream sequence.
 */
export function jobMessageId(msg: JsMsg): string {
  return msg.headers?.get('Nats-Msg-Id') || `${msg.info.stream}:${msg.info.streamSequence}`;
}

export function createJobDedup(redis: RedisClient, ttlSeconds = DEFAULT_TTL_SECONDS): JobDedup {
  return {
    async alreadyDone(messageId) {
      return (await redis.exists(redisKeys.jobDedup(messageId))) === 1;
    },
    async markDone(messageId) {
      await redis.set(
        redisKeys.jobDedup(messageId),
        new Date().toISOString(),
        'EX',
        ttlSeconds,
        'NX',
      );
    },
    async claimRun(messageId, ttlMs) {
      const key = redisKeys.jobRunning(messageId);
      const token = randomUUID();
      if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') {
        return {
          renew: async () => {
            await redis.eval(RENEW_IF_HELD, 1, key, token, ttlMs);
          },
          release: async () => {
            await redis.eval(RELEASE_IF_HELD, 1, key, token);
          },
        };
      }
      // Expired between the two calls: the next delivery finds it free.
      return { heldForMs: Math.max(await redis.pttl(key), 0) };
    },
  };
}
