import type { Server } from 'node:http';
import { Gauge, type Registry } from 'prom-client';

/**
 * Open client sockets, idle keep-alive ones included: what slow or idle clients hold, and
 * what a drain waits for. Read from the server when /metrics is scraped.
 */
export function registerConnectionMetrics(registry: Registry, server: Server): void {
  new Gauge({
    name: 'http_open_connections',
    help: 'Client sockets open on this server, idle keep-alive sockets included',
    registers: [registry],
    async collect() {
      const count = await new Promise<number>((resolve, reject) =>
        server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
      this.set(count);
    },
  });
}
