import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createApp } from './app.ts';
import { startOutboxRelay } from './bridge/relay.ts';
import { loadServerConfig } from './config/server.ts';
import { createDependencies } from './dependencies.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { registerConnectionMetrics } from './http/connection-metrics.ts';
import { createConnectionDrain } from './http/drain.ts';
import { trackInFlight } from './http/in-flight.ts';
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

const server = createServer(
  {
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    headersTimeout: config.http.headersTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    maxHeaderSize: config.http.maxHeaderBytes,
    // Node looks for expired headers and requests on this period (30 s by default), which
    // would let a slow client hold its socket up to that long past its timeout.
    connectionsCheckingInterval: 1000,
  },
  app,
);
const inFlight = trackInFlight(server);
answerClientErrors(server, inFlight);
registerConnectionMetrics(metricsRegistry, server);
const drain = createConnectionDrain(server, inFlight);
server.listen(config.http.port, config.http.host, () => {
  logger.info(`listening on http://${config.http.host}:${config.http.port}`, { env: config.env });
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const forced = setTimeout(() => {
    logger.error('shutdown timed out; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs);
  forced.unref();
  // Readiness answers 503 from here on; for the delay the server keeps serving, so that a load
  // balancer sees the failing probes and stops routing here before connections are refused.
  built.startDraining();
  await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
  // Stop accepting, end the event streams (their clients reconnect elsewhere), and let the
  // requests in flight finish; what is left after the drain's share of the bound is cut, so
  // the relay and the pools still get their turn before the forced exit.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  built.closeEventStreams();
  const drainBudgetMs = (config.shutdownTimeoutMs - config.shutdownDelayMs) * 0.8;
  const cut = await drain.drain(drainBudgetMs);
  if (cut > 0) logger.warn('shutdown cut requests still running', { requests: cut });
  await closed;
  // After the requests: the rows they committed are published by this relay's last batch.
  await relay.stop();
  await relay.drainOnce().catch((err: unknown) => {
    logger.warn('outbox rows left for another instance or the next start', { err });
  });
  await deps.close();
  logger.info('stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
