import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../shared/logger.ts';

export interface RelayMetrics {
  published: Counter;
}

/**
 * The lag gauge is read from the table when scraped rather than after each poll: it then
 * covers rows no relay has touched yet, and costs one indexed query per scrape. Without a
 * registry the metrics still count but are exported nowhere.
 */
export function createRelayMetrics(options: {
  registry: Registry | undefined;
  oldestPendingAgeSeconds: () => Promise<number>;
  logger: Logger;
}): RelayMetrics {
  const registers = options.registry ? [options.registry] : [];
  new Gauge({
    name: 'outbox_relay_lag_seconds',
    help: 'Age of the oldest outbox row not yet published to JetStream',
    registers,
    async collect() {
      try {
        this.set(await options.oldestPendingAgeSeconds());
      } catch (error) {
        // A scrape must not fail because the database is briefly away; the last value stays.
        options.logger.warn('outbox lag could not be read', { err: error });
      }
    },
  });
  const published = new Counter({
    name: 'outbox_published_total',
    help: 'Outbox rows published to JetStream and marked sent',
    registers,
  });
  return { published };
}
