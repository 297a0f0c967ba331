import type { WorkerConfig } from '../src/config/worker.ts';
import { createMailer, type Mailer } from '../src/shared/clients/mailer.ts';
import { closeNats, createNats, type NatsConnection } from '../src/shared/clients/nats.ts';
import { closeRedis, createRedis, type RedisClient } from '../src/shared/clients/redis.ts';
import { createStorage, type Storage } from '../src/shared/clients/s3.ts';
import { createSearchEngine } from '../src/shared/clients/search/create-search-engine.ts';
import type { SearchEngine } from '../src/shared/clients/search/search-engine.ts';
import { createDatabase, type Database } from '../src/shared/db/knex.ts';
import { ensureStreams } from '../src/shared/jobs/streams.ts';
import { createClosers } from '../src/shared/closers.ts';
import type { Logger } from '../src/shared/logger.ts';

export interface WorkerDependencies {
  config: WorkerConfig;
  logger: Logger;
  db: Database;
  redis: RedisClient;
  /** The server's cache Redis, where the worker invalidates the user snapshots it changes. */
  cacheRedis: RedisClient;
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
  const closers = createClosers(logger);
  try {
    const db = createDatabase(config.database);
    closers.add(() => db.close());
    // Locks and message-id dedup live beside sessions: both need durability, not LRU eviction.
    const redis = await createRedis(config.redis.sessionUrl, 'worker');
    closers.add(() => closeRedis(redis));
    const cacheRedis = await createRedis(config.redis.cacheUrl, 'worker-cache');
    closers.add(() => closeRedis(cacheRedis));
    const nats = await createNats(config.nats.url, 'worker');
    closers.add(() => closeNats(nats));
    await ensureStreams(await nats.jetstreamManager());
    const storage = createStorage(config.storage);
    closers.add(() => storage.close());
    if (config.storage.createBuckets) await storage.ensureBuckets();
    const search = createSearchEngine(config.search, db.write);
    closers.add(() => search.close());
    await search.applySettings();
    const mailer = createMailer(config.smtp);
    closers.add(() => mailer.close());
    return {
      config,
      logger,
      db,
      redis,
      cacheRedis,
      nats,
      storage,
      search,
      mailer,
      close: closers.closeAll,
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}
