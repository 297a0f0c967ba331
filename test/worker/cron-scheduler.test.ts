import { randomUUID } from 'node:crypto';
import { Registry, type Counter, type Histogram } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { defineCronJob, type CronJob } from '../../worker/cron/cron-job.ts';
import { runCronJobNow, startCron } from '../../worker/cron/scheduler.ts';
import { createTestCronDeps } from './fixtures/cron-support.ts';
import { createCapturingLogger } from '../support/capturing-logger.ts';
import { eventually, sleep } from '../support/wait.ts';

function everySecond(run: CronJob['run']): CronJob {
  return defineCronJob({ name: `scheduler-test-${randomUUID()}`, schedule: '* * * * * *', run });
}

async function metricValues(
  registry: Registry,
  name: string,
): Promise<Array<{ labels: Record<string, unknown>; value: number; metricName?: string }>> {
  const metric = registry.getSingleMetric(name) as Counter | Histogram;
  return (await metric.get()).values;
}

describe('cron scheduler', () => {
  const { logger, entries } = createCapturingLogger();
  let deps: Awaited<ReturnType<typeof createTestCronDeps>>;

  beforeAll(async () => {
    deps = await createTestCronDeps(logger);
  });

  afterAll(async () => {
    await deps.close();
  });

  it('When jobs are due, then each tick runs under the lock and is logged and counted', async () => {
    let runs = 0;
    const ok = everySecond(async () => {
      runs += 1;
      return { rows: 7 };
    });
    const failing = everySecond(async () => {
      throw new Error('disk on fire');
    });
    const registry = new Registry();
    const before = Date.now();
    const cron = startCron({ deps, registry, jobs: [ok, failing] });

    const [listed] = cron.list();
    expect(listed).toMatchObject({ name: ok.name, schedule: '* * * * * *' });
    expect(listed?.nextRun?.getTime()).toBeGreaterThan(before);
    expect(listed?.nextRun?.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    await eventually(() => runs >= 2, 10_000);
    await cron.stop();
    const runsAtStop = runs;
    expect(cron.list()[0]?.nextRun).toBeNull();

    const finished = entries.filter((e) => e.job === ok.name && e.message === 'cron job finished');
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished[0]).toMatchObject({ level: 'info', outcome: 'ok', rows: 7 });
    expect(typeof finished[0]?.duration_ms).toBe('number');
    expect(Date.parse(String(finished[0]?.tick))).not.toBeNaN();
    const started = entries.filter((e) => e.job === ok.name && e.message === 'cron job started');
    expect(started.length).toBe(finished.length);
    const failed = entries.filter((e) => e.job === failing.name && e.message === 'cron job failed');
    expect(failed[0]).toMatchObject({ level: 'error', outcome: 'failed' });

    const counted = await metricValues(registry, 'cron_job_runs_total');
    const count = (job: string, outcome: string) =>
      counted.find((v) => v.labels.job === job && v.labels.outcome === outcome)?.value ?? 0;
    expect(count(ok.name, 'ok')).toBe(finished.length);
    expect(count(failing.name, 'failed')).toBe(failed.length);
    const durations = await metricValues(registry, 'cron_job_duration_seconds');
    const observed = durations.find(
      (v) =>
        v.metricName === 'cron_job_duration_seconds_count' &&
        v.labels.job === ok.name &&
        v.labels.outcome === 'ok',
    );
    expect(observed?.value).toBe(finished.length);

    await sleep(1100);
    expect(runs).toBe(runsAtStop);
  });

  it('When stop is called during a run, then it waits for the run to finish', async () => {
    let state = 'idle';
    const job = everySecond(async () => {
      state = 'running';
      await sleep(400);
      state = 'done';
      return {};
    });
    const cron = startCron({ deps, registry: new Registry(), jobs: [job] });
    await eventually(() => state === 'running', 5000);

    await cron.stop();

    expect(state).toBe('done');
  });

  it('When a run outlasts the stop timeout, then it is aborted and stop returns', async () => {
    let state = 'idle';
    const job = everySecond(
      ({ signal }) =>
        new Promise((_, reject) => {
          state = 'running';
          signal.addEventListener('abort', () => {
            state = 'aborted';
            reject(signal.reason as Error);
          });
        }),
    );
    const cron = startCron({ deps, registry: new Registry(), jobs: [job], stopTimeoutMs: 100 });
    await eventually(() => state === 'running', 5000);

    const stopping = Date.now();
    await cron.stop();

    expect(Date.now() - stopping).toBeLessThan(1000);
    expect(state).toBe('aborted');
    expect(entries.some((e) => e.job === job.name && e.message === 'cron job failed')).toBe(true);
  });

  it('When the worker starts cron, then the three jobs use the configured schedules and zone', () => {
    const config = loadWorkerConfig({
      ...process.env,
      CRON_SITEMAP_SCHEDULE: '30 2 * * *',
      CRON_TIMEZONE: 'Asia/Tokyo',
    });
    const cron = startCron({ deps: { ...deps, config }, registry: new Registry() });

    const listed = cron.list();
    void cron.stop();

    expect(listed.map((job) => [job.name, job.schedule])).toEqual([
      ['cleanup', config.cron.schedules.cleanup],
      ['sitemap', '30 2 * * *'],
      ['orphan-blobs', config.cron.schedules.orphanBlobs],
    ]);
    // 02:30 in Tokyo (UTC+9, no DST) is 17:30 UTC.
    const sitemapRun = listed[1]?.nextRun;
    expect([sitemapRun?.getUTCHours(), sitemapRun?.getUTCMinutes()]).toEqual([17, 30]);
  });

  it('When a schedule or the time zone is invalid, then startCron refuses to start', () => {
    const bad = defineCronJob({
      name: 'bad-schedule',
      schedule: '61 * * * *',
      run: async () => ({}),
    });
    expect(() => startCron({ deps, registry: new Registry(), jobs: [bad] })).toThrow(
      'cron job "bad-schedule" has an invalid schedule "61 * * * *"',
    );
    const config = { ...deps.config, cron: { ...deps.config.cron, timezone: 'Mars/Olympus' } };
    expect(() => startCron({ deps: { ...deps, config }, registry: new Registry() })).toThrow(
      'Mars/Olympus',
    );
  });

  it('When a job is run by an unknown name, then runCronJobNow rejects listing the known ones', async () => {
    await expect(runCronJobNow('nope', deps)).rejects.toThrow(
      'unknown cron job "nope"; known: cleanup, sitemap, orphan-blobs',
    );
  });
});
