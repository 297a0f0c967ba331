import { scrapeMetrics } from './metrics.ts';
import type { KitProcess } from './processes.ts';

export interface ProcessSample {
  /** When it was taken (epoch ms). */
  at: number;
  rssMiB: number;
  /** V8 heap in use (nodejs_heap_size_used_bytes). */
  heapUsedMiB: number;
  /** p99 of the event-loop delay since the previous scrape (prom-client resets it on each). */
  eventLoopLagP99Ms: number;
}

export interface ProcessSampler {
  /** Samples per process name, oldest first. */
  readonly samples: ReadonlyMap<string, readonly ProcessSample[]>;
  stop(): Promise<void>;
}

/**
 * Every `intervalMs`, the resident set size of each process (from /proc), its V8 heap in use and
 * its event-loop delay (from its Prometheus /metrics: the server's and the worker's both carry prom-client's
 * default metrics).
 */
export function sampleProcesses(
  processes: readonly KitProcess[],
  intervalMs: number,
): ProcessSampler {
  const samples = new Map<string, ProcessSample[]>(processes.map((p) => [p.name, []]));
  let stopped = false;
  let wake: (() => void) | undefined;
  const running = (async () => {
    while (!stopped) {
      await Promise.all(
        processes.map(async (kit) => {
          const metrics = await scrapeMetrics(`${kit.url}/metrics`);
          samples.get(kit.name)!.push({
            at: Date.now(),
            rssMiB: kit.rssMiB(),
            heapUsedMiB: metrics.value('nodejs_heap_size_used_bytes') / 2 ** 20,
            eventLoopLagP99Ms: metrics.value('nodejs_eventloop_lag_p99_seconds') * 1000,
          });
        }),
      );
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
