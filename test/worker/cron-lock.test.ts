import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { defineCronJob, type CronJob } from '../../worker/cron/cron-job.ts';
import { runCronJob } from '../../worker/cron/run-job.ts';
import { runCronJobNow } from '../../worker/cron/scheduler.ts';
import {
  createTestCronDeps,
  fixturePath,
  spawnScript,
  type SpawnedScript,
} from './fixtures/cron-support.ts';
import { eventually, sleep } from '../support/wait.ts';

const replicaFixture = fixturePath('cron-replica.ts');

describe('cron lock', () => {
  let deps: Awaited<ReturnType<typeof createTestCronDeps>>;
  const children: SpawnedScript[] = [];

  beforeAll(async () => {
    deps = await createTestCronDeps();
  });

  afterAll(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await deps.close();
  });

  function spawnFixture(env: Record<string, string>): SpawnedScript {
    const spawned = spawnScript(replicaFixture, [], env);
    children.push(spawned);
    return spawned;
  }

  /** A job (unique per test, so locks never collide) that records that it ran. */
  function recordingJob(run: CronJob['run'] = async () => ({})): CronJob {
    return defineCronJob({ name: `lock-test-${randomUUID()}`, schedule: '* * * * * *', run });
  }

  it('When two replicas schedule the same job, then each tick runs exactly once', async () => {
    const job = `lock-test-${randomUUID()}`;
    const key = `test:cron-runs:${job}`;
    const env = { CRON_FIXTURE_MODE: 'replica', CRON_FIXTURE_JOB: job, CRON_FIXTURE_KEY: key };
    const replicas = [spawnFixture(env), spawnFixture(env)];
    await Promise.all(replicas.map((replica) => replica.waitForLine((line) => line === 'ready')));
    const bothReady = Date.now();
    const contestedRuns = async () =>
      (await deps.redis.lrange(key, 0, -1)).filter(
        (entry) => Date.parse(entry.split(' ')[0] ?? '') > bothReady,
      ).length;

    await eventually(async () => (await contestedRuns()) >= 3, 15_000);
    for (const { child } of replicas) child.kill('SIGTERM');
    const exits = await Promise.all(replicas.map((replica) => replica.exited));
    const counts = replicas.map(
      (replica) => JSON.parse(replica.lines.at(-1) ?? '{}') as Record<string, number | undefined>,
    );

    expect(exits).toEqual([0, 0]);
    const runs = (await deps.redis.lrange(key, 0, -1)).map((entry) => entry.split(' '));
    await deps.redis.del(key);
    // Ticks both replicas were up for; each must appear once, whichever replica ran it.
    const contested = runs
      .map(([tick]) => tick ?? '')
      .filter((tick) => Date.parse(tick) > bothReady);
    expect(contested.length).toBeGreaterThanOrEqual(3);
    expect(new Set(contested).size).toBe(contested.length);
    expect(new Set(runs.map(([tick]) => tick)).size).toBe(runs.length);
    // The losers really raced: every contested tick was skipped by the other replica.
    const skipped = counts.reduce((sum, count) => sum + (count.skipped ?? 0), 0);
    expect(skipped).toBeGreaterThanOrEqual(contested.length);
    expect(counts.reduce((sum, count) => sum + (count.ok ?? 0), 0)).toBe(runs.length);
  });

  it('When a job runs longer than the lock TTL, then the heartbeat keeps the lock until it ends', async () => {
    // A heartbeat every third of the TTL: the lock survives a stall of two thirds of it.
    const ttlMs = 1000;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const job = recordingJob(async () => {
      await finished;
      return {};
    });
    const key = redisKeys.cronLock(job.name);

    const first = runCronJobNow(job.name, deps, { jobs: [job], lockTtlMs: ttlMs });
    await sleep(ttlMs * 2.5);
    const pttl = await deps.redis.pttl(key);
    const second = await runCronJobNow(job.name, deps, { jobs: [job], lockTtlMs: ttlMs });
    finish();

    expect(pttl).toBeGreaterThan(0);
    expect(second.outcome).toBe('skipped');
    expect((await first).outcome).toBe('ok');
    // A manual run leaves nothing behind: the next one may start at once.
    expect(await deps.redis.exists(key)).toBe(0);
    expect((await runCronJobNow(job.name, deps, { jobs: [job], lockTtlMs: ttlMs })).outcome).toBe(
      'ok',
    );
  });

  it('When a tick has already run, then a late replica skips it but the next tick runs', async () => {
    let runs = 0;
    const job = recordingJob(async () => {
      runs += 1;
      return {};
    });
    const options = { lockTtlMs: 5000 };
    const tick = new Date(Date.UTC(2030, 0, 1, 4)).toISOString();
    const next = new Date(Date.UTC(2030, 0, 8, 4)).toISOString();

    expect((await runCronJob(job, deps, { ...options, tick })).outcome).toBe('ok');
    expect((await runCronJob(job, deps, { ...options, tick })).outcome).toBe('skipped');
    expect((await runCronJob(job, deps, { ...options, tick: next })).outcome).toBe('ok');
    expect(runs).toBe(2);
  });

  it('When the lock is taken from a running job, then the job is aborted and fails', async () => {
    const job = recordingJob(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
    );
    const run = runCronJobNow(job.name, deps, { jobs: [job], lockTtlMs: 1000 });
    await eventually(async () => (await deps.redis.exists(redisKeys.cronLock(job.name))) === 1);

    await deps.redis.set(redisKeys.cronLock(job.name), 'run manual someone-else');
    const result = await run;

    expect(result.outcome).toBe('failed');
    expect(result.outcome === 'failed' && String(result.error)).toContain('lock');
    // Its release must not delete the new holder's lock.
    expect(await deps.redis.get(redisKeys.cronLock(job.name))).toBe('run manual someone-else');
    await deps.redis.del(redisKeys.cronLock(job.name));
  });

  it('When the lock holder crashes, then its lock expires and another process can run the job', async () => {
    const ttlMs = 1000;
    const job = recordingJob();
    const started = `test:cron-holder:${job.name}`;
    const holder = spawnFixture({
      CRON_FIXTURE_MODE: 'holder',
      CRON_FIXTURE_JOB: job.name,
      CRON_FIXTURE_KEY: started,
      CRON_FIXTURE_LOCK_TTL_MS: String(ttlMs),
    });
    await eventually(async () => (await deps.redis.exists(started)) === 1, 10_000);
    await deps.redis.del(started);

    // Alive, the holder's heartbeat keeps the lock past its TTL.
    await sleep(ttlMs * 1.5);
    expect((await runCronJobNow(job.name, deps, { jobs: [job] })).outcome).toBe('skipped');

    holder.child.kill('SIGKILL');
    await holder.exited;
    expect((await runCronJobNow(job.name, deps, { jobs: [job] })).outcome).toBe('skipped');
    const pttl = await deps.redis.pttl(redisKeys.cronLock(job.name));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(ttlMs);
    await sleep(ttlMs + 100);
    expect((await runCronJobNow(job.name, deps, { jobs: [job] })).outcome).toBe('ok');
  });
});
