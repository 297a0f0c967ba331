import type { Readiness } from '../../../src/modules/health/health.service.ts';

export interface ReadinessSample {
  /** When the probe was sent (epoch ms). */
  at: number;
  /** 0 when the server did not answer */
  status: number;
  body?: Readiness;
}

export interface ReadinessWatch {
  readonly samples: readonly ReadinessSample[];
  stop(): Promise<void>;
}

/** Polls GET /health/ready back to back (with a short pause), keeping every answer. */
export function watchReadiness(baseUrl: string, pauseMs = 200): ReadinessWatch {
  const samples: ReadinessSample[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const at = Date.now();
      const sample = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(10_000) })
        .then(async (response) => ({
          at,
          status: response.status,
          body: (await response.json()) as Readiness,
        }))
        .catch(() => ({ at, status: 0 }));
      samples.push(sample);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await running;
    },
  };
}
