import type { ProbeWindow, Prober } from './prober.ts';

/** One scrape of a server's /metrics; `value` reads an unlabelled sample from it. */
export async function scrapeMetrics(baseUrl: string): Promise<{ value(name: string): number }> {
  const lines = (await (await fetch(`${baseUrl}/metrics`)).text()).split('\n');
  return {
    value(name) {
      const line = lines.find((l) => l.startsWith(`${name} `));
      if (line === undefined) throw new Error(`${name} is not in ${baseUrl}/metrics`);
      return Number(line.slice(name.length + 1));
    },
  };
}

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
    const metrics = await scrapeMetrics(baseUrl);
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
