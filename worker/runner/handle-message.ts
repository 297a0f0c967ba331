import type { JetStreamClient, JsMsg } from 'nats';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import type { Logger } from '../../src/shared/logger.ts';
import { jobMessageId, type JobDedup, type RunClaim } from '../dedup.ts';
import { publishDeadLetter } from '../dlq.ts';
import type { JobMetrics } from '../metrics.ts';
import type { ConsumerContext, ConsumerDefinition, RunnerSettings } from './types.ts';

export interface MessageEnvironment {
  js: JetStreamClient;
  dedup: JobDedup;
  metrics: JobMetrics;
  logger: Logger;
  settings: RunnerSettings;
  /** Aborted when stop() gives up waiting: the message is left unacked, so it is redelivered. */
  abandon: AbortSignal;
}

/** A redelivery that found the run claimed comes back no sooner than this. */
const MIN_CLAIM_RETRY_MS = 1000;

function decode(msg: JsMsg): unknown {
  try {
    return JSON.parse(msg.string()) as unknown;
  } catch {
    throw new Error('payload is not valid JSON');
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How a delivery ended: `retryInMs` when it failed and was nakked with that delay. */
export interface Delivery {
  retryInMs?: number;
}

/**
 * One delivery, start to finish: validate, run the handler while telling JetStream it is
 * alive, then ack, nak with the delay for this delivery, or dead-letter. Never rejects.
 * `env.logger` is the consumer's own logger (consumer-loop.ts binds it once).
 */
export async function handleMessage(
  msg: JsMsg,
  consumer: ConsumerDefinition,
  env: MessageEnvironment,
): Promise<Delivery> {
  const { durable } = jobStreams[consumer.job];
  const deliveryCount = msg.info.deliveryCount;
  const messageId = jobMessageId(msg);
  const logger = env.logger.child({ message_id: messageId, delivery: deliveryCount });
  const { retryDelaysMs } = env.settings;
  const maxDeliveries = retryDelaysMs.length + 1;

  /**
   * After shutdown gave up on this job its connection may be closing: the message is left
   * unacked (so it is redelivered) rather than raced against the close.
   */
  const abandoned = (what: string): boolean => {
    if (!env.abandon.aborted) return false;
    logger.warn(`job ended after shutdown stopped waiting; not ${what}, it will be redelivered`);
    return true;
  };

  const respond = (what: string, action: () => void): void => {
    if (abandoned(what)) return;
    try {
      action();
    } catch (error) {
      logger.warn(`job could not be ${what}; it will be redelivered`, { err: errorMessage(error) });
    }
  };

  const deadLetter = async (reason: string): Promise<void> => {
    if (abandoned('dead-lettered')) return;
    try {
      await publishDeadLetter(env.js, consumer.job, msg, reason, messageId);
    } catch (error) {
      // Nothing is dropped: it comes back after the longest delay and is dead-lettered then.
      logger.error('dead-lettering failed; retrying later', { reason, err: errorMessage(error) });
      respond('nakked', () => msg.nak(retryDelaysMs.at(-1)));
      return;
    }
    respond('acked', () => msg.ack());
    env.metrics.record(durable, 'dead_lettered');
    logger.error('job dead-lettered', { reason });
  };

  let run: (ctx: ConsumerContext) => Promise<void>;
  try {
    run = consumer.prepare(decode(msg));
  } catch (error) {
    // A payload that fails its schema fails the same way on every delivery: no retries.
    await deadLetter(errorMessage(error));
    return {};
  }

  const timeoutMs = consumer.timeoutMs ?? env.settings.handlerTimeoutMs;
  const timedOut = new AbortController();
  const ctx: ConsumerContext = {
    logger,
    messageId,
    deliveryCount,
    header: (name) => msg.headers?.get(name) || undefined,
    signal: AbortSignal.any([env.abandon, timedOut.signal]),
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut.abort();
      reject(new Error(`handler still running after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  // It may fire while the dedup check runs, before anything races it.
  timeout.catch(() => undefined);
  let claim: RunClaim | undefined;
  const releaseClaim = async () => {
    const held = claim;
    claim = undefined;
    if (!held || !('release' in held)) return;
    await held.release().catch((error: unknown) => {
      logger.warn('could not release the run claim; it expires', { err: errorMessage(error) });
    });
  };
  // Given up by shutdown, the job is for its redelivery to run: the claim must not hold it back.
  const onAbandon = () => void releaseClaim();
  env.abandon.addEventListener('abort', onAbandon, { once: true });
  const keepAlive = setInterval(() => {
    if (!env.abandon.aborted) respond('marked in progress', () => msg.working());
  }, consumer.inProgressIntervalMs ?? env.settings.inProgressIntervalMs);
  // On its own clock, three times per claim lifetime: it holds when JetStream's in-progress
  // acks do not get through, which is when a redelivery comes during the run.
  const claimRenewal = setInterval(() => {
    if (env.abandon.aborted || !claim || !('renew' in claim)) return;
    claim.renew().catch((error: unknown) => {
      logger.warn('could not renew the run claim', { err: errorMessage(error) });
    });
  }, env.settings.ackWaitMs / 3);
  const started = performance.now();
  try {
    if (consumer.sideEffects && (await env.dedup.alreadyDone(messageId))) {
      logger.info('side effect already done for this message; skipping the redelivery');
      respond('acked', () => msg.ack());
      env.metrics.record(durable, 'duplicate');
      return {};
    }
    if (consumer.sideEffects) {
      // As long as the ack wait: a holder that died stops blocking the redelivery about when
      // JetStream makes it.
      const claimed = await env.dedup.claimRun(messageId, env.settings.ackWaitMs);
      if ('heldForMs' in claimed) {
        // Back once the other run has ended: as a duplicate if it succeeded, else to run.
        logger.info('another delivery of this message is running; retrying after it');
        respond('nakked', () => msg.nak(Math.max(claimed.heldForMs, MIN_CLAIM_RETRY_MS)));
        env.metrics.record(durable, 'duplicate');
        return {};
      }
      claim = claimed;
    }
    const running = run(ctx);
    // A handler that finishes after its timeout has nothing left to report to.
    running.catch(() => undefined);
    await Promise.race([running, timeout]);
    const seconds = (performance.now() - started) / 1000;
    if (consumer.sideEffects) {
      // The side effect happened: acking is right even if the marker cannot be written.
      await env.dedup.markDone(messageId).catch((error: unknown) => {
        logger.warn('could not record the job as done for dedup', { err: errorMessage(error) });
      });
    }
    respond('acked', () => msg.ack());
    env.metrics.record(durable, 'processed', seconds);
    return {};
  } catch (error) {
    const reason = errorMessage(error);
    env.metrics.record(durable, 'failed', (performance.now() - started) / 1000);
    if (deliveryCount >= maxDeliveries) {
      await deadLetter(`failed ${deliveryCount} deliveries; last error: ${reason}`);
      return {};
    }
    const delay = retryDelaysMs[deliveryCount - 1] ?? retryDelaysMs.at(-1);
    logger.warn('job failed; retrying', { reason, retry_in_ms: delay });
    respond('nakked', () => msg.nak(delay));
    return { retryInMs: delay };
  } finally {
    clearInterval(keepAlive);
    clearInterval(claimRenewal);
    clearTimeout(timer);
    env.abandon.removeEventListener('abort', onAbandon);
    await releaseClaim();
  }
}
