import type { WorkerConfig } from '../../src/config/worker.ts';
import { closeRedis, createRedis } from '../../src/shared/clients/redis.ts';
import { createStorage } from '../../src/shared/clients/s3.ts';
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
  const redis = await createRedis(config.redis.sessionUrl, 'cron');
  const db = createDatabase(config.database, 'expresskit-cron');
  const storage = createStorage(config.storage);
  const close = async () => {
    await closeRedis(redis);
    await storage.close();
    await db.close();
  };
  try {
    if (config.storage.createBuckets) await storage.ensureBuckets();
  } catch (error) {
    await close();
    throw error;
  }
  return { config, logger, db, redis, storage, close };
}
