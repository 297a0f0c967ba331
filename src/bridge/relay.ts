import type { Knex } from 'knex';
import { Events, type NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.ts';
import {
  claimPendingOutboxRows,
  markOutboxRowsSent,
  oldestPendingOutboxAgeSeconds,
} from './outbox.repository.ts';
import { createRelayMetrics } from './relay.metrics.ts';

export interface OutboxRelayOptions {
  /** The primary: the relay locks and updates rows. */
  db: Knex;
  nats: NatsConnection;
  logger: Logger;
  /** Pause between polls once the outbox is drained. */
  intervalMs: number;
  batchSize?: number;
  registry?: Registry;
}

export interface OutboxRelay {
  /** Publishes one batch and returns how many rows were sent; throws when a publish failed. */
  drainOnce(): Promise<number>;
  /** Lets the batch in flight finish, then stops polling. */
  stop(): Promise<void>;
}

const DEFAULT_BATCH_SIZE = 100;
/** Bounds how long a batch keeps its rows locked while NATS does not answer. */
const PUBLISH_TIMEOUT_MS = 2000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 4000;

/**
 * Publishes outbox rows to JetStream. A row is claimed, published with its id as Nats-Msg-Id
 * and marked sent in one transaction: if the process dies between the publish and the commit,
 * the row is published again and JetStream drops the copy inside the stream's duplicate window.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, logger, intervalMs } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const js = options.nats.jetstream();
  const encoder = new TextEncoder();
  const metrics = createRelayMetrics({
    registry: options.registry,
    oldestPendingAgeSeconds: () => oldestPendingOutboxAgeSeconds(db),
    logger,
  });

  let stopped = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  // Tracked from the client's status events: while disconnected, a publish could only wait
  // out its timeout with the rows locked, so the attempt fails at once instead.
  let natsConnected = true;
  void (async () => {
    for await (const status of options.nats.status()) {
      if (status.type === Events.Disconnect) natsConnected = false;
      if (status.type === Events.Reconnect) {
        natsConnected = true;
        // Jobs that waited through the outage go now rather than after the backoff.
        wake?.();
      }
    }
  })();

  async function drainOnce(): Promise<number> {
    const { sent, failure } = await db.transaction(async (trx) => {
      const rows = await claimPendingOutboxRows(trx, batchSize);
      if (rows.length > 0 && !natsConnected) throw new Error('NATS is disconnected');
      // Concurrent publishes: one batch costs about one ack round trip, not one per row.
      const results = await Promise.allSettled(
        rows.map((row) =>
          js.publish(row.subject, encoder.encode(row.payload), {
            msgID: row.id,
            timeout: PUBLISH_TIMEOUT_MS,
          }),
        ),
      );
      // Rows that were acked are kept as sent even when others failed, so a retry resends less.
      const sentIds = rows.filter((_, i) => results[i]?.status === 'fulfilled').map((r) => r.id);
      if (sentIds.length > 0) await markOutboxRowsSent(trx, sentIds);
      const rejected = results.find((r) => r.status === 'rejected');
      return { sent: sentIds.length, failure: rejected && toError(rejected.reason) };
    });
    metrics.published.inc(sent);
    if (failure) throw failure;
    return sent;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      let pause = intervalMs;
      try {
        const sent = await drainOnce();
        if (failures > 0)
          logger.info('outbox relay publishing again', { failed_attempts: failures });
        failures = 0;
        // While rows keep coming the relay drains back to back, each batch taking what arrived
        // during the last; the interval only paces an idle relay. Waiting out the interval
        // after every batch would add up to a whole interval to each job's latency under load.
        if (sent > 0) continue;
      } catch (error) {
        failures += 1;
        // Once per outage: an outage of minutes would otherwise log on every attempt.
        if (failures === 1) {
          logger.warn('outbox relay failing; jobs wait in the outbox and are retried', {
            err: error,
          });
        }
        pause = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
      }
      if (!stopped) await sleep(pause);
    }
  }

  const running = run();
  return {
    drainOnce,
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
