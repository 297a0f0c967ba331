import type { WorkerConfig } from '../src/config/worker.ts';
import { createMailer, type Mailer } from '../src/shared/clients/mailer.ts';
import { closeNats, createNats, type NatsConnection } from '../src/shared/clients/nats.ts';
import { closeRedis, createRedis, type RedisClient } from '../src/shared/clients/redis.ts';
import { createStorage, type Storage } from '../src/shared/clients/s3.ts';
import { createSearchEngine } from '../src/shared/clients/search/create-search-engine.ts';
import type { SearchEngine } from '../src/shared/clients/search/search-engine.ts';
import { createDatabase, type Database } from '../src/shared/db/knex.ts';
import { ensureStreams } from '../src/shared/jobs/streams.ts';
import type { Logger } from '../src/shared/logger.ts';

export interface WorkerDependencies {
  config: WorkerConfig;
  logger: Logger;
  db: Database;
  redis: RedisClient;
  nats: NatsConnection;
  storage: Storage;
  search: SearchEngine;
  mailer: Mailer;
  close(): Promise<void>;
}

export async function createWorkerDependencies(
  config: WorkerConfig,
  logger: Logger,
): Promise<WorkerDependencies> {
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await Promise.resolve(close()).catch((error: unknown) => {
        logger.warn('closing a connection failed', { err: error });
      });
    }
  };
  try {
    const db = createDatabase(config.database);
    closers.push(() => db.close());
    // Locks and message-id dedup live beside sessions: both need durability, not LRU eviction.
    const redis = await createRedis(config.redis.sessionUrl, 'worker');
    closers.push(() => closeRedis(redis));
    const nats = await createNats(config.nats.url, 'worker');
    closers.push(() => closeNats(nats));
    await ensureStreams(await nats.jetstreamManager());
    const storage = createStorage(config.storage);
    closers.push(() => storage.close());
    if (config.storage.createBuckets) await storage.ensureBuckets();
    const search = createSearchEngine(config.search, db.write);
    closers.push(() => search.close());
    await search.applySettings();
    const mailer = createMailer(config.smtp);
    closers.push(() => mailer.close());
    return { config, logger, db, redis, nats, storage, search, mailer, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
