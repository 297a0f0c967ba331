import type { WorkerConfig } from '../../src/config/worker.ts';
import type { Logger } from '../../src/shared/logger.ts';
import type { WorkerDependencies } from '../dependencies.ts';

/** What cron jobs use; the rest of the worker's connections (NATS, search, mail) stay out. */
export type CronDependencies = Pick<
  WorkerDependencies,
  'config' | 'logger' | 'db' | 'redis' | 'storage'
>;

export interface CronContext {
  deps: CronDependencies;
  /** The scheduled time as ISO text, the same on every replica; `manual` for a manual run. */
  tick: string;
  /** Child logger tagged with the job and tick. */
  logger: Logger;
  /**
   * Aborted when the lock is lost or the worker stops: jobs check it between batches, so they
   * never keep writing after another replica may have taken over.
   */
  signal: AbortSignal;
}

/** Counts the job reports; they end up in the run's log line and the manual command's output. */
export type CronSummary = Record<string, number>;

export interface CronJob {
  /** Kebab-case; also the lock key, the metric label and the manual command's argument. */
  name: string;
  /** A node-cron expression (5 fields, or 6 with seconds), or where to find it in the config. */
  schedule: string | ((config: WorkerConfig) => string);
  run(ctx: CronContext): Promise<CronSummary>;
}

export function defineCronJob(job: CronJob): CronJob {
  return job;
}

export function resolveSchedule(job: CronJob, config: WorkerConfig): string {
  return typeof job.schedule === 'string' ? job.schedule : job.schedule(config);
}
