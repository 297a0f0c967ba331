import type { ServerConfig } from './config/server.ts';
import { closeNats, createNats, type NatsConnection } from './shared/clients/nats.ts';
import { closeRedis, createRedis, type RedisClient } from './shared/clients/redis.ts';
import { createStorage, type Storage } from './shared/clients/s3.ts';
import { createSearchEngine } from './shared/clients/search/create-search-engine.ts';
import type { SearchEngine } from './shared/clients/search/search-engine.ts';
import { createDatabase, type Database } from './shared/db/knex.ts';
import { ensureStreams } from './shared/jobs/streams.ts';
import { createClosers } from './shared/closers.ts';
import type { Logger } from './shared/logger.ts';

/**
 * Every connection the server holds, created once at start and closed in reverse order. No
 * mailer: the server only enqueues email jobs, and the worker sends them.
 */
export interface Dependencies {
  config: ServerConfig;
  logger: Logger;
  db: Database;
  redis: { session: RedisClient; cache: RedisClient };
  nats: NatsConnection;
  storage: Storage;
  search: SearchEngine;
  close(): Promise<void>;
}

export async function createDependencies(
  config: ServerConfig,
  logger: Logger,
): Promise<Dependencies> {
  const closers = createClosers(logger);
  try {
    const db = createDatabase(config.database);
    closers.add(() => db.close());
    const session = await createRedis(config.redis.sessionUrl, 'server-session');
    closers.add(() => closeRedis(session));
    const cache = await createRedis(config.redis.cacheUrl, 'server-cache');
    closers.add(() => closeRedis(cache));
    const nats = await createNats(config.nats.url, 'server');
    closers.add(() => closeNats(nats));
    await ensureStreams(await nats.jetstreamManager());
    const storage = createStorage(config.storage);
    closers.add(() => storage.close());
    if (config.storage.createBuckets) await storage.ensureBuckets();
    const search = createSearchEngine(config.search, db.write);
    closers.add(() => search.close());

    return {
      config,
      logger,
      db,
      redis: { session, cache },
      nats,
      storage,
      search,
      close: closers.closeAll,
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}
