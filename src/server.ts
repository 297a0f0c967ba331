import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { startOutboxRelay } from './bridge/relay.ts';
import { loadServerConfig } from './config/server.ts';
import { trackInFlightRequests } from './http/in-flight.ts';
import { createDependencies } from './dependencies.ts';
import { createLogger } from './shared/logger.ts';

if (existsSync('.env')) process.loadEnvFile('.env');

const config = loadServerConfig();
const logger = createLogger({ env: config.env, level: config.logLevel, service: 'server' });
const deps = await createDependencies(config, logger);
const built = createApp(deps);
const { app, metricsRegistry } = built;
const relay = startOutboxRelay({
  db: deps.db.write,
  nats: deps.nats,
  logger,
  intervalMs: config.outbox.relayIntervalMs,
  registry: metricsRegistry,
});

const server: Server = app.listen(config.http.port, config.http.host, () => {
  logger.info(`listening on http://${config.http.host}:${config.http.port}`, { env: config.env });
});
// Keep-alive sockets must outlive a load balancer's idle timeout, or it sees resets.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
const inFlight = trackInFlightRequests(server);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const forced = setTimeout(() => {
    logger.error('shutdown timed out; exiting');
    process.exit(1);
  }, 30_000);
  forced.unref();
  // First, so no batch is mid-publish when NATS and the pools close. Jobs committed by
  // requests still in flight wait in the outbox for another instance or the next start.
  await relay.stop();
  // Stop accepting, let in-flight requests finish, then close idle keep-alive sockets. Event
  // streams never finish by themselves: they are ended, and their clients reconnect elsewhere.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  built.closeEventStreams();
  server.closeIdleConnections();
  // Once every request in flight has its answer, no socket left is worth waiting for.
  await inFlight.idle();
  server.closeAllConnections();
  await closed;
  await deps.close();
  logger.info('stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
