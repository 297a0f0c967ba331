import { Counter, Histogram, type Registry } from 'prom-client';

export type JobOutcome = 'processed' | 'failed' | 'dead_lettered' | 'duplicate';

export interface JobMetrics {
  /** One handled delivery: its outcome, and for handler runs how long the handler took. */
  record(consumer: string, outcome: JobOutcome, durationSeconds?: number): void;
}

/** Job counters and handler duration on the worker's registry, labelled by durable consumer name. */
export function createJobMetrics(registry: Registry): JobMetrics {
  const processed = new Counter({
    name: 'worker_jobs_processed_total',
    help: 'Jobs whose handler succeeded and which were acked.',
    labelNames: ['consumer'],
    registers: [registry],
  });
  const failed = new Counter({
    name: 'worker_jobs_failed_total',
    help: 'Handler failures, each followed by a delayed redelivery or a dead letter.',
    labelNames: ['consumer'],
    registers: [registry],
  });
  const deadLettered = new Counter({
    name: 'worker_jobs_dead_lettered_total',
    help: 'Jobs moved to the dead-letter stream (retries exhausted or invalid payload).',
    labelNames: ['consumer'],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'worker_jobs_duplicate_total',
    help: 'Redelivered side-effecting jobs skipped because their side effect already ran.',
    labelNames: ['consumer'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'worker_job_duration_seconds',
    help: 'Handler run time, successful or not.',
    labelNames: ['consumer'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const counters = { processed, failed, dead_lettered: deadLettered, duplicate: duplicates };
  return {
    record(consumer, outcome, durationSeconds) {
      counters[outcome].inc({ consumer });
      if (durationSeconds !== undefined) duration.observe({ consumer }, durationSeconds);
    },
  };
}
