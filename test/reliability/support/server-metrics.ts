import { scrapeMetrics } from './metrics.ts';
import type { ProbeWindow, Prober } from './prober.ts';

export interface Observation {
  /** What the separate prober saw: how long a client waited. */
  probes: ProbeWindow;
  /**
   * The server's worst event-loop delay over the window: how late the server itself was, so
   * a slow probe can be told apart from a process starved of CPU by its neighbours.
   */
  eventLoopMaxMs: number;
}

export interface ServerWatch {
  /** Client sockets open on the server now, counted by the server (this scrape's included). */
  openConnections(): Promise<number>;
  end(): Promise<Observation>;
}

/**
 * Opens an observation window on a server: probes and event-loop delay from now on. Every
 * scrape resets prom-client's event-loop histogram, so each one's maximum is kept.
 */
export async function watchServer(baseUrl: string, prober: Prober): Promise<ServerWatch> {
  let eventLoopMaxMs = 0;
  const read = async () => {
    const metrics = await scrapeMetrics(`${baseUrl}/metrics`);
    eventLoopMaxMs = Math.max(
      eventLoopMaxMs,
      metrics.value('nodejs_eventloop_lag_max_seconds') * 1000,
    );
    return metrics;
  };
  await prober.report();
  await read();
  eventLoopMaxMs = 0;
  return {
    openConnections: async () => (await read()).value('http_open_connections'),
    async end() {
      await read();
      return { probes: await prober.report(), eventLoopMaxMs };
    },
  };
}
