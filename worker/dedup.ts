import type { JsMsg } from 'nats';
import type { RedisClient } from '../src/shared/clients/redis.ts';
import { redisKeys } from '../src/shared/constants/redis-keys.ts';

/** Longer than any redelivery chain (a few minutes) or DLQ replay window an operator would use. */
const DEFAULT_TTL_SECONDS = 4 * 24 * 3600;

export interface JobDedup {
  alreadyDone(messageId: string): Promise<boolean>;
  /** Called once the side effect succeeded; a redelivery of the same message is then skipped. */
  markDone(messageId: string): Promise<void>;
}

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
  };
}
