import { existsSync } from 'node:fs';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { loadWorkerConfig } from '../src/config/worker.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createConsumers } from './consumers/index.ts';
import { startCron } from './cron/scheduler.ts';
import { createWorkerDependencies } from './dependencies.ts';
import { startWorkerHttp } from './http.ts';
import { startConsumers } from './runner.ts';

if (existsSync('.env')) process.loadEnvFile('.env');

const config = loadWorkerConfig();
const logger = createLogger({ env: config.env, level: config.logLevel, service: 'worker' });
const deps = await createWorkerDependencies(config, logger);

const registry = new Registry();
collectDefaultMetrics({ register: registry });

const consumers = await startConsumers({
  nats: deps.nats,
  redis: deps.redis,
  logger,
  registry,
  consumers: await createConsumers(deps),
  shutdownTimeoutMs: config.worker.shutdownTimeoutMs,
});
const cron = startCron({
  deps,
  registry,
  lockTtlMs: config.cron.lockTtlMs,
  stopTimeoutMs: config.worker.shutdownTimeoutMs,
});

let stopping = false;
const http = await startWorkerHttp({
  host: config.worker.host,
  port: config.worker.metricsPort,
  registry,
  isHealthy: () => !stopping,
});
logger.info(
  `worker up; health and metrics on http://${config.worker.host}:${config.worker.metricsPort}`,
);

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('worker shutting down', { signal });
  const forced = setTimeout(() => {
    logger.error('worker shutdown timed out; exiting');
    process.exit(1);
  }, config.worker.shutdownTimeoutMs + 5000);
  forced.unref();
  // Stop taking work, let in-flight jobs finish (bounded), then close connections.
  await Promise.all([consumers.stop(), cron.stop()]);
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await deps.close();
  logger.info('worker stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
