import type { WorkerDependencies } from '../dependencies.ts';

/** What the job handlers use; the worker entry passes its dependencies as they are. */
export type ConsumerDependencies = Pick<
  WorkerDependencies,
  'config' | 'logger' | 'db' | 'redis' | 'cacheRedis' | 'storage' | 'search' | 'nats' | 'mailer'
>;
