import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JetStreamManager, JsMsg } from 'nats';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { ensureDurable } from './durable.ts';
import { errorMessage, handleMessage, type MessageEnvironment } from './handle-message.ts';
import type { ConsumerDefinition } from './types.ts';

const MAX_RESTART_DELAY_MS = 30_000;
/** How long one pull waits on the server before the lane asks again (nats.js allows ≥ 1 s). */
const PULL_EXPIRES_MS = 5000;

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

  const handBack = (msg: JsMsg) => {
    try {
      msg.nak();
    } catch {
      // The connection is gone: the ack wait expiring redelivers it just the same.
    }
  };

  /**
   * One slot of the concurrency: it pulls a message only once its last one is handled. A
   * worker then never holds more messages than it runs, so replicas on the same durable share
   * its backlog instead of one buffering it (a refilling consume pulls again as messages
   * arrive, not as they finish). After a failure the lane waits out the retry delay it gave
   * the message before it pulls another: while a dependency is down each lane keeps about one
   * message in the retry schedule, instead of feeding the whole backlog through it and on to
   * the dead letters. `run` aborts when another lane failed; `pulled` reports a pull that
   * completed, which is what proves the loop healthy again after a restart.
   */
  async function lane(pull: Consumer, run: AbortSignal, pulled: () => void): Promise<void> {
    while (!stopping.signal.aborted && !run.aborted) {
      let retryInMs: number | undefined;
      const batch = await pull.fetch({ max_messages: 1, expires: PULL_EXPIRES_MS });
      const stop = () => batch.stop();
      run.addEventListener('abort', stop);
      stopping.signal.addEventListener('abort', stop);
      if (stopping.signal.aborted || run.aborted) stop();
      try {
        for await (const msg of batch) {
          if (stopping.signal.aborted) {
            handBack(msg);
            continue;
          }
          const task = handleMessage(msg, consumer, messageEnv).then(
            (delivery) => delivery.retryInMs,
          );
          const tracked = task.then(() => undefined).finally(() => inFlight.delete(tracked));
          inFlight.add(tracked);
          retryInMs = await task;
        }
      } finally {
        run.removeEventListener('abort', stop);
        stopping.signal.removeEventListener('abort', stop);
      }
      pulled();
      if (retryInMs !== undefined) {
        await sleep(retryInMs, undefined, {
          signal: AbortSignal.any([stopping.signal, run]),
        }).catch(() => undefined);
      }
    }
  }

  async function consume(healthy: () => void): Promise<void> {
    await ensureDurable(env.jsm, consumer.job, env.settings.ackWaitMs);
    const pull = await env.js.consumers.get(stream, durable);
    const run = new AbortController();
    const lanes = Array.from({ length: concurrency }, () =>
      lane(pull, run.signal, healthy).catch((error: unknown) => {
        run.abort();
        throw error;
      }),
    );
    // Every lane has stopped before the loop restarts, so a restart never doubles them.
    const ended = await Promise.allSettled(lanes);
    const failed = ended.find((lane) => lane.status === 'rejected');
    if (failed) throw failed.reason;
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
      await supervised;
    },
  };
}
