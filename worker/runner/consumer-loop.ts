import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerMessages, JetStreamManager, JsMsg } from 'nats';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { ensureDurable } from './durable.ts';
import { errorMessage, handleMessage, type MessageEnvironment } from './handle-message.ts';
import type { ConsumerDefinition } from './types.ts';

const MAX_RESTART_DELAY_MS = 30_000;

export interface LoopEnvironment extends MessageEnvironment {
  jsm: JetStreamManager;
}

export interface ConsumerLoop {
  /** Stops pulling; messages pulled but not started are handed back for immediate redelivery. */
  stopFetching(): Promise<void>;
  /** Handlers still running. */
  readonly inFlight: ReadonlySet<Promise<void>>;
}

/**
 * Pulls one job's messages and runs up to its concurrency at once. The loop is supervised:
 * if consuming fails (consumer deleted, NATS gone past reconnection), it logs and starts
 * again after a pause that grows while restarts keep failing.
 */
export function startConsumerLoop(
  consumer: ConsumerDefinition,
  env: LoopEnvironment,
): ConsumerLoop {
  const { stream, durable, concurrency } = jobStreams[consumer.job];
  const logger = env.logger.child({ consumer: durable });
  // Each delivery logs through the consumer's logger, adding only its own message fields.
  const messageEnv = { ...env, logger };
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  let messages: ConsumerMessages | undefined;

  const handBack = (msg: JsMsg) => {
    try {
      msg.nak();
    } catch {
      // The connection is gone: the ack wait expiring redelivers it just the same.
    }
  };

  async function consume(onStarted: () => void): Promise<void> {
    await ensureDurable(env.jsm, consumer.job, env.settings.ackWaitMs);
    const pull = await env.js.consumers.get(stream, durable);
    messages = await pull.consume({ max_messages: concurrency, abort_on_missing_resource: true });
    if (stopping.signal.aborted) messages.stop();
    onStarted();
    for await (const msg of messages) {
      // max_ack_pending already caps deliveries at the concurrency; this guards the moment
      // between a handler's ack and its slot being freed.
      while (inFlight.size >= concurrency && !stopping.signal.aborted) {
        await Promise.race(inFlight);
      }
      if (stopping.signal.aborted) {
        handBack(msg);
        continue;
      }
      const task: Promise<void> = handleMessage(msg, consumer, messageEnv).finally(() =>
        inFlight.delete(task),
      );
      inFlight.add(task);
    }
  }

  const supervised = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        await consume(() => {
          failures = 0;
        });
        if (!stopping.signal.aborted) logger.warn('consume loop ended unexpectedly; restarting');
      } catch (error) {
        if (!stopping.signal.aborted) {
          logger.error('consume loop failed; restarting', { err: errorMessage(error) });
        }
      }
      if (stopping.signal.aborted) break;
      const pause = Math.min(env.settings.restartDelayMs * 2 ** failures, MAX_RESTART_DELAY_MS);
      failures += 1;
      await sleep(pause, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();

  return {
    inFlight,
    async stopFetching() {
      stopping.abort();
      messages?.stop();
      await supervised;
    },
  };
}
