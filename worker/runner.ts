import type { Registry } from 'prom-client';
import type { NatsConnection } from '../src/shared/clients/nats.ts';
import type { RedisClient } from '../src/shared/clients/redis.ts';
import type { JobName } from '../src/shared/constants/jobs.ts';
import { parseJobPayload } from '../src/shared/jobs/payloads.ts';
import type { Logger } from '../src/shared/logger.ts';
import { createJobDedup } from './dedup.ts';
import { createJobMetrics } from './metrics.ts';
import { startConsumerLoop, type ConsumerLoop } from './runner/consumer-loop.ts';
import type { ConsumerDefinition, ConsumerSpec, RunnerSettings } from './runner/types.ts';
import { settledWithin } from './settled-within.ts';

export type { ConsumerContext, ConsumerDefinition, ConsumerSpec } from './runner/types.ts';

/** SPEC §5: 1, 2, 4, 8, 16 s after failed deliveries 1–5; the 6th failure dead-letters. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000, 16_000];

const DEFAULT_SETTINGS: RunnerSettings = {
  ackWaitMs: 30_000,
  retryDelaysMs: DEFAULT_RETRY_DELAYS_MS,
  inProgressIntervalMs: 10_000,
  handlerTimeoutMs: 5 * 60_000,
  restartDelayMs: 1000,
};

export function defineConsumer<N extends JobName>(spec: ConsumerSpec<N>): ConsumerDefinition {
  return {
    job: spec.job,
    sideEffects: spec.sideEffects ?? false,
    inProgressIntervalMs: spec.inProgressIntervalMs,
    timeoutMs: spec.timeoutMs,
    prepare(data) {
      const payload = parseJobPayload(spec.job, data);
      return (ctx) => spec.handle(payload, ctx);
    },
  };
}

export interface StartConsumersOptions extends Partial<RunnerSettings> {
  nats: NatsConnection;
  /** Holds the message-id dedup keys of side-effecting jobs. */
  redis: RedisClient;
  logger: Logger;
  registry: Registry;
  consumers: readonly ConsumerDefinition[];
  /** How long stop() waits for running handlers before leaving them unacked. */
  shutdownTimeoutMs: number;
}

export interface ConsumerRunner {
  /**
   * Stops fetching and waits up to shutdownTimeoutMs for running handlers. Handlers still
   * running then are abandoned unacked, so JetStream redelivers them: nothing is lost.
   */
  stop(): Promise<void>;
}

export async function startConsumers(options: StartConsumersOptions): Promise<ConsumerRunner> {
  const { nats, redis, logger, registry, consumers, shutdownTimeoutMs, ...overrides } = options;
  const settings: RunnerSettings = { ...DEFAULT_SETTINGS, ...definedOnly(overrides) };
  if (settings.retryDelaysMs.length === 0) throw new Error('retryDelaysMs must not be empty');
  const jobs = consumers.map((c) => c.job);
  const twice = jobs.find((job, i) => jobs.indexOf(job) !== i);
  if (twice) throw new Error(`two consumers for job ${twice}`);

  const abandon = new AbortController();
  const env = {
    js: nats.jetstream(),
    jsm: await nats.jetstreamManager(),
    dedup: createJobDedup(redis),
    metrics: createJobMetrics(registry),
    logger,
    settings,
    abandon: abandon.signal,
  };
  const loops: ConsumerLoop[] = consumers.map((consumer) => startConsumerLoop(consumer, env));
  logger.info('job consumers started', { jobs });

  let stopped: Promise<void> | undefined;
  async function stop(): Promise<void> {
    const drained = (async () => {
      await Promise.all(loops.map((loop) => loop.stopFetching()));
      await Promise.all(loops.flatMap((loop) => [...loop.inFlight]));
    })();
    const inTime = await settledWithin([drained], shutdownTimeoutMs);
    // Acks are buffered writes: get them to the server before the caller closes the connection.
    await nats.flush().catch(() => undefined);
    if (!inTime) {
      const running = loops.reduce((n, loop) => n + loop.inFlight.size, 0);
      abandon.abort();
      logger.warn('shutdown stopped waiting for running jobs; they will be redelivered', {
        running,
      });
    } else {
      logger.info('job consumers stopped');
    }
  }

  return {
    stop() {
      stopped ??= stop();
      return stopped;
    },
  };
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
