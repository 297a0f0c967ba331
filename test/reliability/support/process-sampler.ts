import type { KitProcess } from './processes.ts';

export interface ProcessSample {
  /** When it was taken (epoch ms). */
  at: number;
  rssMiB: number;
  /** p99 of the event-loop delay since the previous scrape (prom-client resets it on each). */
  eventLoopLagP99Ms: number;
}

export interface ProcessSampler {
  /** Samples per process name, oldest first. */
  readonly samples: ReadonlyMap<string, readonly ProcessSample[]>;
  stop(): Promise<void>;
}

function lagP99Ms(metrics: string): number {
  const value = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(metrics)?.[1];
  if (value === undefined) throw new Error('no nodejs_eventloop_lag_p99_seconds in /metrics');
  return Number(value) * 1000;
}

/**
 * Every `intervalMs`, the resident set size of each process (from /proc) and its event-loop
 * delay (from its Prometheus /metrics: the server's and the worker's both carry prom-client's
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
          const metrics = await (await fetch(`${kit.url}/metrics`)).text();
          samples.get(kit.name)!.push({
            at: Date.now(),
            rssMiB: kit.rssMiB(),
            eventLoopLagP99Ms: lagP99Ms(metrics),
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
