import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { startGatedProxy, type Gate, type GatedProxy } from '../support/gated-proxy.ts';
import { eventually } from '../support/wait.ts';
import { logEntries } from './support/process-log.ts';
import { startAll, startWorkerProcess, type KitProcess } from './support/processes.ts';
import { recordScenario } from './support/report.ts';

/**
 * Every job ticks every 2 s, the sitemap every 5 s: longer than the 2 s lock TTL plus the time
 * to kill its holder, so the tick after the kill finds the dead holder's lock expired.
 */
const SCHEDULES = {
  CRON_CLEANUP_SCHEDULE: '*/2 * * * * *',
  CRON_ORPHAN_BLOBS_SCHEDULE: '*/2 * * * * *',
  CRON_SITEMAP_SCHEDULE: '*/5 * * * * *',
};
const PERIOD_MS = { cleanup: 2000, 'orphan-blobs': 2000, sitemap: 5000 };
const LOCK_TTL_MS = 2000;
/** How long both workers tick side by side before the ticks are counted. */
const WINDOW_MS = 10_000;
/**
 * node-cron skips a tick it wakes for more than 1 s late, and a run still going at the next
 * tick holds the lock through it: on a loaded machine some ticks do not run at all. What two
 * replicas must never do is run one tick twice; that ticks run at all is shown by at least
 * this share of them having run.
 */
const MIN_SHARE_RUN = 0.5;
/** What a loaded machine may add to the lock's expiry (Redis expires keys lazily and by sampling). */
const EXPIRY_SLACK_MS = 8000;

let proxies: GatedProxy[] = [];
let workers: KitProcess[] = [];
let redis: RedisClient;

beforeAll(async () => {
  redis = await createRedis(process.env.REDIS_SESSION_URL!, 'reliability-cron');
  // Each worker reaches the public bucket through a proxy of its own: a sitemap upload held
  // there keeps that worker mid-run, and which proxy holds it tells which worker has the lock.
  proxies = await Promise.all(['a', 'b'].map(() => startGatedProxy(process.env.R2_ENDPOINT!)));
  workers = await startAll(
    ['a', 'b'].map((name, i) =>
      startWorkerProcess({
        name: `cron-worker-${name}`,
        env: {
          ...SCHEDULES,
          CRON_LOCK_TTL_SECS: String(LOCK_TTL_MS / 1000),
          R2_ENDPOINT: proxies[i]!.url,
          // Each run logs its tick and outcome at info level: the record counted here.
          LOG_LEVEL: 'info',
        },
      }),
    ),
  );
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await closeRedis(redis);
});

interface Run {
  worker: string;
  job: string;
  tick: string;
  outcome: string;
}

/** The cron runs each worker logged as ended, with the tick each ran. */
function runsOf(kits: KitProcess[]): Run[] {
  return kits.flatMap((kit) =>
    logEntries(kit)
      .filter((entry) => /^cron job (finished|failed)$/.test(entry.message))
      .map((entry) => ({
        worker: kit.name,
        job: String(entry.meta.job),
        tick: String(entry.meta.tick),
        outcome: String(entry.meta.outcome),
      })),
  );
}

/** The scheduled ticks of a job strictly between two times. */
function ticksBetween(job: keyof typeof PERIOD_MS, fromMs: number, toMs: number): string[] {
  const period = PERIOD_MS[job];
  const ticks: string[] = [];
  for (let t = Math.floor(fromMs / period + 1) * period; t < toMs; t += period) {
    ticks.push(new Date(t).toISOString());
  }
  return ticks;
}

it('When two workers run the same schedules, then no tick of any cron job runs twice across them and most ticks run', async () => {
  const from = Date.now();
  const to = from + WINDOW_MS;
  // Each job's ticks run one after another (the lock), so once every job has run a tick past
  // the window, the window's runs have all ended, and a second run of one would have too.
  await eventually(
    () =>
      Object.keys(PERIOD_MS).every((job) =>
        runsOf(workers).some((run) => run.job === job && Date.parse(run.tick) >= to),
      ),
    WINDOW_MS + 20_000,
  );
  const runs = runsOf(workers);

  const expected = (Object.keys(PERIOD_MS) as (keyof typeof PERIOD_MS)[]).flatMap((job) =>
    ticksBetween(job, from, to).map((tick) => ({ job, tick })),
  );
  const timesRun = expected.map(
    ({ job, tick }) => runs.filter((run) => run.job === job && run.tick === tick).length,
  );
  const byWorker = workers.map((worker) => runs.filter((run) => run.worker === worker.name).length);
  const ranOnce = timesRun.filter((n) => n === 1).length;
  const ranTwice = timesRun.filter((n) => n > 1).length;
  recordScenario({
    scenario: 'multi-process: no cron tick runs twice across two workers',
    requests: expected.length,
    faults: 'none',
    unexpected5xx: 0,
    lost: 0,
    notes:
      `${expected.length} ticks of 3 jobs: ${ranOnce} ran once, ${ranTwice} twice, ` +
      `${expected.length - ranOnce - ranTwice} not at all (late or overlapping ticks are ` +
      `skipped); runs per worker (whole window) ${byWorker.join(' + ')}`,
  });

  expect(expected.length).toBeGreaterThanOrEqual(10);
  expect(timesRun.filter((n) => n > 1)).toEqual([]);
  expect(ranOnce).toBeGreaterThanOrEqual(Math.ceil(MIN_SHARE_RUN * expected.length));
  const counted = runs.filter((run) =>
    expected.some(({ job, tick }) => run.job === job && run.tick === tick),
  );
  expect(counted.filter((run) => run.outcome !== 'ok')).toEqual([]);
});

it('When the worker holding a cron lock is killed mid-run, then its lock expires and the other worker runs the very next tick', async () => {
  const key = redisKeys.cronLock('sitemap');
  const gates: Gate[] = proxies.map((proxy) =>
    proxy.hold((req) => req.method === 'PUT' && (req.url ?? '').includes('/sitemaps/')),
  );
  const holderIndex = await Promise.race([
    ...gates.map((gate, i) => gate.arrived.then(() => i)),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no sitemap run reached its upload')), 20_000),
    ),
  ]);
  const holder = workers[holderIndex]!;
  const survivor = workers[1 - holderIndex]!;
  // The survivor's uploads go through from now on.
  gates[1 - holderIndex]!.release();

  const held = (await redis.get(key)) ?? '';
  const [state, tick] = held.split(' ');
  const killed = await holder.stop('SIGKILL');
  const killedAt = performance.now();
  // The dead holder's lock outlives it: only its expiry, once the renewal stopped, frees it.
  const heldAfterKill = await redis.get(key);
  await eventually(async () => (await redis.get(key)) !== held, LOCK_TTL_MS + EXPIRY_SLACK_MS);
  const freedAfterMs = performance.now() - killedAt;
  const nextTick = new Date(Date.parse(tick!) + PERIOD_MS.sitemap).toISOString();
  await eventually(async () => (await redis.get(key)) === `done ${nextTick}`, 15_000);
  const survivorRuns = runsOf([survivor]).filter((run) => run.job === 'sitemap');
  workers = [survivor];

  recordScenario({
    scenario: 'multi-process: cron lock holder SIGKILLed mid-run',
    requests: 2,
    faults: 'SIGKILL of the worker holding the sitemap lock',
    unexpected5xx: 0,
    lost: survivorRuns.some((run) => run.tick === nextTick) ? 0 : 1,
    notes:
      `lock TTL ${LOCK_TTL_MS} ms; the dead holder's lock was freed ${freedAfterMs.toFixed(0)} ms ` +
      `after the kill; ${survivor.name} ran the next tick (${PERIOD_MS.sitemap / 1000} s later)`,
  });

  expect(state).toBe('run');
  expect(killed).toEqual({ code: null, signal: 'SIGKILL' });
  expect(heldAfterKill).toBe(held);
  expect(freedAfterMs).toBeLessThanOrEqual(LOCK_TTL_MS + EXPIRY_SLACK_MS);
  expect(survivorRuns.filter((run) => run.tick === tick)).toEqual([]);
  expect(survivorRuns.filter((run) => run.tick === nextTick)).toEqual([
    { worker: survivor.name, job: 'sitemap', tick: nextTick, outcome: 'ok' },
  ]);
});
