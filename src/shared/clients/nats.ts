import { connect, type NatsConnection } from 'nats';

export type { NatsConnection };

/** Reconnects forever: a NATS outage must never take the process down (jobs wait in the outbox). */
export async function createNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    pingInterval: 10_000,
  });
}

export async function closeNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  await nc.drain().catch(() => nc.close());
}
