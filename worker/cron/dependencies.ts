import type { WorkerConfig } from '../../src/config/worker.ts';
import { closeRedis, createRedis } from '../../src/shared/clients/redis.ts';
import { createStorage } from '../../src/shared/clients/s3.ts';
import { createClosers } from '../../src/shared/closers.ts';
import { createDatabase } from '../../src/shared/db/knex.ts';
import type { Logger } from '../../src/shared/logger.ts';
import type { CronDependencies } from './cron-job.ts';

/**
 * Just the connections cron jobs use, for running them outside the worker (the manual
 * command): it needs no NATS, search engine or mailer to be reachable.
 */
export async function createCronDependencies(
  config: WorkerConfig,
  logger: Logger,
): Promise<CronDependencies & { close(): Promise<void> }> {
  const closers = createClosers(logger);
  try {
    const redis = await createRedis(config.redis.sessionUrl, 'cron');
    closers.add(() => closeRedis(redis));
    const db = createDatabase(config.database, 'expresskit-cron');
    closers.add(() => db.close());
    const storage = createStorage(config.storage);
    closers.add(() => storage.close());
    if (config.storage.createBuckets) await storage.ensureBuckets();
    return { config, logger, db, redis, storage, close: closers.closeAll };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}
