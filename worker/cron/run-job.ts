import type { CronDependencies, CronJob, CronSummary } from './cron-job.ts';
import { acquireCronLock, type CronLock } from './lock.ts';
import type { CronMetrics } from './metrics.ts';

export type CronRunResult =
  | { outcome: 'ok'; durationMs: number; summary: CronSummary }
  | { outcome: 'failed'; durationMs: number; error: unknown }
  | { outcome: 'skipped' };

export interface RunCronJobOptions {
  lockTtlMs: number;
  /** The scheduled tick; omitted for manual runs. */
  tick?: string;
  metrics?: CronMetrics;
  /** Aborted by the scheduler when the worker stops. */
  signal?: AbortSignal;
}

/** One run under the job's lock, logged and counted. Never throws: the outcome says it all. */
export async function runCronJob(
  job: CronJob,
  deps: CronDependencies,
  options: RunCronJobOptions,
): Promise<CronRunResult> {
  const tick = options.tick ?? 'manual';
  const logger = deps.logger.child({ job: job.name, tick });
  const lockLost = new AbortController();
  const started = performance.now();
  const elapsedMs = () => Math.round(performance.now() - started);

  const fail = (error: unknown): CronRunResult => {
    const durationMs = elapsedMs();
    logger.error('cron job failed', {
      outcome: 'failed',
      duration_ms: durationMs,
      err: error,
    });
    options.metrics?.record(job.name, 'failed', durationMs / 1000);
    return { outcome: 'failed', durationMs, error };
  };

  let lock: CronLock | undefined;
  try {
    lock = await acquireCronLock(deps.redis, job.name, {
      tick: options.tick,
      ttlMs: options.lockTtlMs,
      onLost: () => {
        logger.warn('cron lock lost; stopping the job');
        lockLost.abort(new Error(`cron lock of ${job.name} lost`));
      },
      onHeartbeatError: (error) => logger.warn('cron lock heartbeat failed', { err: error }),
    });
  } catch (error) {
    // Without the lock there is no telling whether another replica runs this tick: fail closed.
    return fail(error);
  }
  if (!lock) {
    logger.debug('cron tick skipped: another replica holds the lock');
    options.metrics?.record(job.name, 'skipped');
    return { outcome: 'skipped' };
  }

  logger.info('cron job started');
  const signal = options.signal
    ? AbortSignal.any([lockLost.signal, options.signal])
    : lockLost.signal;
  let result: CronRunResult;
  try {
    const summary = await job.run({ deps, tick, logger, signal });
    const durationMs = elapsedMs();
    logger.info('cron job finished', { outcome: 'ok', duration_ms: durationMs, ...summary });
    options.metrics?.record(job.name, 'ok', durationMs / 1000);
    result = { outcome: 'ok', durationMs, summary };
  } catch (error) {
    result = fail(error);
  }
  await lock.release().catch((error: unknown) => {
    // The TTL frees it anyway; the next tick is only delayed if Redis stays away that long.
    logger.warn('cron lock release failed', { err: error });
  });
  return result;
}
