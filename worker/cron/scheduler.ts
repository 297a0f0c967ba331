import cron from 'node-cron';
import type { Logger as NodeCronLogger } from 'node-cron';
import type { Registry } from 'prom-client';
import type { WorkerConfig } from '../../src/config/worker.ts';
import type { Logger } from '../../src/shared/logger.ts';
import { resolveSchedule, type CronDependencies, type CronJob } from './cron-job.ts';
import { cronJobs } from './jobs.ts';
import { createCronMetrics } from './metrics.ts';
import { runCronJob, type CronRunResult } from './run-job.ts';
import { settledWithin } from '../settled-within.ts';

// Long enough that a Redis hiccup does not drop the lock, short enough that a crashed
// replica's lock frees well before the next tick of a weekly job.
const LOCK_TTL_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
// After the stop timeout, jobs are aborted and get this long to reach their next check.
const ABORT_GRACE_MS = 2000;

export interface CronJobInfo {
  name: string;
  schedule: string;
  nextRun: Date | null;
}

export interface CronRuntime {
  /** No new ticks; waits for running jobs up to the stop timeout, then aborts them. */
  stop(): Promise<void>;
  list(): CronJobInfo[];
}

export interface StartCronOptions {
  deps: CronDependencies;
  registry: Registry;
  jobs?: readonly CronJob[];
  lockTtlMs?: number;
  stopTimeoutMs?: number;
}

export function startCron(options: StartCronOptions): CronRuntime {
  const { deps } = options;
  const lockTtlMs = options.lockTtlMs ?? LOCK_TTL_MS;
  const metrics = createCronMetrics(options.registry);
  const stopping = new AbortController();
  const running = new Set<Promise<CronRunResult>>();
  let stopped = false;

  const scheduled = planJobs(options.jobs ?? cronJobs, deps.config).map(({ job, schedule }) => {
    const task = cron.createTask(
      schedule,
      async (context) => {
        // node-cron may call in after stop() when the timer had already fired.
        if (stopped) return;
        const run = runCronJob(job, deps, {
          // The scheduled time, identical on every replica, names the tick in the lock.
          tick: context.date.toISOString(),
          lockTtlMs,
          metrics,
          signal: stopping.signal,
        });
        running.add(run);
        await run.finally(() => running.delete(run));
      },
      {
        name: job.name,
        timezone: deps.config.cron.timezone,
        // Across replicas the lock prevents overlap; within one, node-cron does.
        noOverlap: true,
        logger: nodeCronLogger(deps.logger),
      },
    );
    return { job, schedule, task };
  });
  for (const { task } of scheduled) void task.start();
  deps.logger.info('cron started', {
    jobs: scheduled.map(({ job, schedule }) => `${job.name} (${schedule})`).join(', '),
    timezone: deps.config.cron.timezone,
  });

  return {
    list: () =>
      scheduled.map(({ job, schedule, task }) => ({
        name: job.name,
        schedule,
        nextRun: stopped ? null : task.getNextRun(),
      })),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const { task } of scheduled) await task.stop();
      if (!(await settledWithin(running, options.stopTimeoutMs ?? STOP_TIMEOUT_MS))) {
        deps.logger.warn('cron jobs still running at shutdown; aborting them');
        stopping.abort(new Error('worker stopping'));
        await settledWithin(running, ABORT_GRACE_MS);
      }
      for (const { task } of scheduled) await task.destroy();
    },
  };
}

/** Runs a job now, under the same lock as its ticks: skipped if a replica is running it. */
export async function runCronJobNow(
  name: string,
  deps: CronDependencies,
  options: { jobs?: readonly CronJob[]; lockTtlMs?: number } = {},
): Promise<CronRunResult> {
  const jobs = options.jobs ?? cronJobs;
  const job = jobs.find((candidate) => candidate.name === name);
  if (!job) {
    throw new Error(
      `unknown cron job "${name}"; known: ${jobs.map((known) => known.name).join(', ')}`,
    );
  }
  return runCronJob(job, deps, { lockTtlMs: options.lockTtlMs ?? LOCK_TTL_MS });
}

/** Each job with its schedule and next run, without scheduling anything. */
export function listCronJobs(
  config: WorkerConfig,
  jobs: readonly CronJob[] = cronJobs,
): CronJobInfo[] {
  return planJobs(jobs, config).map(({ job, schedule }) => {
    const task = cron.createTask(schedule, () => undefined, { timezone: config.cron.timezone });
    const [nextRun] = task.getNextRuns(1);
    void task.destroy();
    return { name: job.name, schedule, nextRun: nextRun ?? null };
  });
}

/** Resolves and validates every schedule first, so one bad expression fails start-up whole. */
function planJobs(
  jobs: readonly CronJob[],
  config: WorkerConfig,
): Array<{ job: CronJob; schedule: string }> {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: config.cron.timezone });
  } catch {
    throw new Error(`CRON_TIMEZONE "${config.cron.timezone}" is not a known time zone`);
  }
  const names = new Set<string>();
  return jobs.map((job) => {
    if (names.has(job.name)) throw new Error(`cron job "${job.name}" is defined twice`);
    names.add(job.name);
    const schedule = resolveSchedule(job, config);
    if (!cron.validate(schedule)) {
      throw new Error(`cron job "${job.name}" has an invalid schedule "${schedule}"`);
    }
    return { job, schedule };
  });
}

function nodeCronLogger(logger: Logger): NodeCronLogger {
  const log = (level: string) => (message: string | Error, err?: Error) => {
    const text = message instanceof Error ? message.message : message;
    logger.log(level, `node-cron: ${text}`, err ? { err } : {});
  };
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
  };
}
