import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Readiness } from '../../src/modules/health/health.service.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';
import { eventually, sleep } from '../support/wait.ts';
import {
  countDelta,
  databaseNow,
  deadLetterCount,
  jobsInFlight,
  outboxRowsSince,
  workerJobCounts,
} from './support/jobs.ts';
import { startLoad, WRITE_OPERATIONS, type Load } from './support/load.ts';
import { tally, unanswered, unexpected5xx } from './support/load-summary.ts';
import { createLoadUsers, type LoadUsers } from './support/load-users.ts';
import { fuzzSeed } from './support/mode.ts';
import { startServerProcess, startWorkerProcess, type KitProcess } from './support/processes.ts';
import { watchReadiness, type ReadinessWatch } from './support/readiness-watch.ts';
import { recordScenario } from './support/report.ts';
import { startService, stopService, type StackService } from './support/services.ts';
import { verifyAcknowledgedWrites, verifySearchIndex } from './support/verify-writes.ts';

/**
 * Fault injection under load (issue 13 item 2): with one server and one worker started as
 * production starts them and a mixed read/write load running throughout, each service is
 * stopped, left down for DOWN_MS, and started again. The server must answer every request
 * (2xx, 4xx or a documented 502/503), readiness must name exactly the lost dependency and
 * recover, no acknowledged write and no job may be lost, and neither process may die.
 */

const FAULTS: { service: StackService; dependency: keyof Readiness }[] = [
  { service: 'redis-session', dependency: 'redis' },
  { service: 'redis-cache', dependency: 'redis' },
  { service: 'nats', dependency: 'nats' },
  { service: 'postgres-replica', dependency: 'postgres' },
  { service: 'postgres-primary', dependency: 'postgres' },
  { service: 's3rver', dependency: 'storage' },
];

const VIRTUAL_USERS = 4;
/** How long each service stays down while the load runs. */
const DOWN_MS = 5_000;
/** Readiness probes are bounded at 2 s; a loss shows within a few polls of that. */
const DETECTION_BOUND_MS = 10_000;
/** From the service answering again to readiness all `ok`: reconnect back-offs are ≤ 2 s. */
const RECOVERY_BOUND_MS = 15_000;
/**
 * Once readiness is all `ok` again and this long has passed, the server answers as before
 * the fault (no 5xx at all), without a restart: the load must get this many such answers.
 */
const SETTLED_AFTER_RECOVERY_MS = 3_000;
const RESPONSES_AFTER_RECOVERY = 60;
/** A replica whose primary restarted streams again within 5 s (wal_retrieve_retry_interval). */
const REPLICA_CATCH_UP_BOUND_MS = 30_000;
/** From recovery to an empty outbox, idle consumers and an up-to-date search index. */
const JOBS_SETTLE_BOUND_MS = 45_000;

const INDEX_JOBS = ['indexPost', 'indexUser'] as const;
const ALL_OK: Readiness = { postgres: 'ok', redis: 'ok', nats: 'ok', storage: 'ok' };

let server: KitProcess;
let worker: KitProcess;
let db: Database;
let nats: NatsConnection;
let load: Load | undefined;
let watch: ReadinessWatch | undefined;
/** A service a failing test may have left stopped. */
let stopped: StackService | undefined;
const accounts: LoadUsers[] = [];
const exits: string[] = [];

beforeAll(async () => {
  [server, worker] = await Promise.all([
    startServerProcess({ name: 'faults-server', env: { TRUST_PROXY: 'loopback' } }),
    startWorkerProcess({ name: 'faults-worker' }),
  ]);
  for (const kit of [server, worker]) {
    void kit.exited.then((exit) => exits.push(`${kit.name} exited ${JSON.stringify(exit)}`));
  }
  const url = process.env.DATABASE_URL!;
  db = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, 'faults-test');
  nats = await createNats(process.env.NATS_URL!, 'faults-test');
});

afterAll(async () => {
  await load?.stop();
  await watch?.stop();
  // So the next file finds the whole stack running, whatever failed here.
  if (stopped) await startService(stopped);
  for (const users of accounts) await users.remove();
  await Promise.all([server?.stop(), worker?.stop()]);
  await closeNats(nats);
  await db?.close();
});

const lastSample = () => watch!.samples.at(-1);
const isReadiness = (body: Readiness | undefined, expected: Readiness) =>
  JSON.stringify(body) === JSON.stringify(expected);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface FaultTimeline {
  stopSent: number;
  down: number;
  detected: number;
  startSent: number;
  up: number;
  recovered: number;
  /** Index jobs still in the outbox as the service came back; undefined without a primary. */
  outboxAtRestart: number | undefined;
}

/** Stops the service under the running load, holds it down, starts it, waits for readiness. */
async function injectFault(
  service: StackService,
  expectedDown: Readiness,
  since: Date,
): Promise<FaultTimeline> {
  const stopSent = Date.now();
  stopped = service;
  await stopService(service);
  const down = Date.now();
  await eventually(() => isReadiness(lastSample()?.body, expectedDown), DETECTION_BOUND_MS);
  const detected = Date.now();
  // The fault is held for a while under load: this is the scenario, not a synchronisation.
  await sleep(Math.max(0, down + DOWN_MS - Date.now()));
  const outboxAtRestart =
    service === 'postgres-primary'
      ? undefined
      : (await outboxRowsSince(db.write, since, INDEX_JOBS)).unsent;

  const startSent = Date.now();
  await startService(service);
  stopped = undefined;
  const up = Date.now();
  await eventually(
    () => lastSample()?.status === 200 && isReadiness(lastSample()?.body, ALL_OK),
    RECOVERY_BOUND_MS,
  );
  return { stopSent, down, detected, startSent, up, recovered: Date.now(), outboxAtRestart };
}

/** Waits until every index job written since `since` is relayed and handled. */
async function settleJobs(since: Date) {
  let outbox = { written: 0, unsent: 0 };
  let inFlight = -1;
  await eventually(async () => {
    outbox = await outboxRowsSince(db.write, since, INDEX_JOBS);
    inFlight = await jobsInFlight(nats, INDEX_JOBS);
    return outbox.unsent === 0 && inFlight === 0;
  }, JOBS_SETTLE_BOUND_MS).catch(() => undefined);
  return { ...outbox, inFlight };
}

describe.sequential('fault injection under load', () => {
  for (const [index, { service, dependency }] of FAULTS.entries()) {
    it(`When ${service} stops and starts again under load, then only documented 5xx answer, readiness names ${dependency} and recovers, and no write or job is lost`, async () => {
      const users = await createLoadUsers(VIRTUAL_USERS, 'flt');
      accounts.push(users);
      const jobsBefore = await workerJobCounts(worker.url);
      const deadLettersBefore = await deadLetterCount(nats);
      const since = await databaseNow(db.write);
      const expectedDown: Readiness = { ...ALL_OK, [dependency]: 'down' };

      watch = watchReadiness(server.url);
      const running = startLoad({
        baseUrls: [server.url],
        users: users.users,
        seed: fuzzSeed() + index,
      });
      load = running;
      await eventually(() => running.responses.length >= 40, 30_000);
      await eventually(() => isReadiness(lastSample()?.body, ALL_OK), 10_000);

      const timeline = await injectFault(service, expectedDown, since);
      const settledAfter = timeline.recovered + SETTLED_AFTER_RECOVERY_MS;
      const answeredAfterRecovery = () =>
        running.responses.filter((r) => r.sentAt > settledAfter).length;
      await eventually(() => answeredAfterRecovery() >= RESPONSES_AFTER_RECOVERY, 60_000);
      const result = await running.stop();
      load = undefined;
      await watch.stop();
      const samples = watch.samples;
      watch = undefined;

      const alive = {
        server: (await fetch(`${server.url}/health-check`)).status,
        worker: (await fetch(`${worker.url}/health`)).status,
      };
      const writes = await verifyAcknowledgedWrites(
        server.url,
        db.write,
        result.ledger,
        REPLICA_CATCH_UP_BOUND_MS,
      );
      const jobs = await settleJobs(since);
      const jobsSettled = Date.now();
      const staleIndex = await verifySearchIndex(
        server.url,
        db.write,
        result.ledger,
        JOBS_SETTLE_BOUND_MS,
      );
      const jobsAfter = await workerJobCounts(worker.url);
      const handled = countDelta(jobsBefore.processed, jobsAfter.processed, INDEX_JOBS);
      const retried = countDelta(jobsBefore.failed, jobsAfter.failed, INDEX_JOBS);
      const deadLettered = (await deadLetterCount(nats)) - deadLettersBefore;

      const unexpected = unexpected5xx(result.responses);
      const noAnswer = unanswered(result.responses);
      const failedAfterRecovery = result.responses.filter(
        (r) => r.sentAt > settledAfter && r.status >= 500,
      );
      // Every readiness answer between detection and restart names exactly the lost dependency
      // (the last probes before the restart may already see it coming back).
      const whileDown = samples.filter(
        (s) => s.at >= timeline.detected && s.at + 2_500 < timeline.startSent,
      );
      const wrongReadiness = whileDown.filter(
        (s) => s.status !== 503 || !isReadiness(s.body, expectedDown),
      );
      const acknowledgedWrites = result.responses.filter(
        (r) => WRITE_OPERATIONS.has(r.operation) && r.status >= 200 && r.status < 300,
      ).length;
      const slowest = Math.max(...result.responses.map((r) => r.durationMs));
      recordScenario({
        scenario: `fault: ${service} down ${seconds(timeline.startSent - timeline.stopSent)} under load`,
        requests: result.responses.length,
        faults: `${service} stop + start`,
        unexpected5xx: unexpected.length + noAnswer.length + failedAfterRecovery.length,
        lost:
          writes.lost.length +
          jobs.unsent +
          Math.max(0, jobs.written - handled) +
          deadLettered +
          staleIndex.length,
        notes:
          `${acknowledgedWrites} acknowledged writes; ${writes.checked} posts, profiles and ` +
          `login counts read back, ${writes.lost.length} not as acknowledged; ` +
          `${jobs.written} index jobs` +
          (timeline.outboxAtRestart === undefined
            ? ''
            : ` (${timeline.outboxAtRestart} waiting in the outbox at restart)`) +
          `, ${handled} handled, ${retried} handler failures retried, ${deadLettered} dead-lettered, ` +
          `all done ${seconds(jobsSettled - timeline.recovered)} after recovery; ` +
          `readiness ${dependency} down after ${seconds(timeline.detected - timeline.down)}, ` +
          `all ok ${seconds(timeline.recovered - timeline.up)} after restart; ` +
          `slowest answer ${slowest} ms; answers: ${tally(result.responses)}`,
      });

      expect(exits).toEqual([]);
      expect(alive).toEqual({ server: 204, worker: 200 });
      expect(unexpected, tally(unexpected)).toEqual([]);
      expect(noAnswer, tally(noAnswer)).toEqual([]);
      expect(failedAfterRecovery, tally(failedAfterRecovery)).toEqual([]);
      expect(whileDown.length).toBeGreaterThan(0);
      expect(wrongReadiness).toEqual([]);
      expect(writes.lost).toEqual([]);
      expect(jobs.unsent).toBe(0);
      expect(jobs.inFlight).toBe(0);
      expect(staleIndex).toEqual([]);
      expect(deadLettered).toBe(0);
      expect(handled).toBeGreaterThanOrEqual(jobs.written);
      // With NATS gone the relay cannot publish: the jobs must have waited in the outbox.
      if (service === 'nats') expect(timeline.outboxAtRestart).toBeGreaterThan(0);
    });
  }
});
