import { Counter, Histogram, type Registry } from 'prom-client';

export type CronOutcome = 'ok' | 'failed' | 'skipped';

export interface CronMetrics {
  record(job: string, outcome: CronOutcome, durationSeconds?: number): void;
}

export function createCronMetrics(registry: Registry): CronMetrics {
  const runs = new Counter({
    name: 'cron_job_runs_total',
    help: 'Cron ticks by job and outcome (skipped: another replica held the lock)',
    labelNames: ['job', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cron_job_duration_seconds',
    help: 'Duration of cron runs that took the lock',
    labelNames: ['job', 'outcome'],
    // Jobs range from a few milliseconds (empty cleanup) to many minutes (a large sitemap).
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  return {
    record(job, outcome, durationSeconds) {
      runs.inc({ job, outcome });
      if (durationSeconds !== undefined) duration.observe({ job, outcome }, durationSeconds);
    },
  };
}
