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
let loadUsers: LoadUsers | undefined;
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
  // Whatever a failed test left down comes back, so the next file finds the whole stack.
  await startService('postgres-primary');
  await loadUsers?.remove();
  await Promise.all([server?.stop(), worker?.stop()]);
  await closeNats(nats);
  await db?.close();
});

const lastSample = () => watch!.samples.at(-1);
const isReadiness = (body: Readiness | undefined, expected: Readiness) =>
  JSON.stringify(body) === JSON.stringify(expected);

describe.sequential('fault injection under load', () => {
  for (const { service, dependency } of FAULTS) {
    it(`When ${service} stops and starts again under load, then only documented 5xx answer, readiness names ${dependency} and recovers, and no write or job is lost`, async () => {
      const seed = fuzzSeed() + FAULTS.findIndex((f) => f.service === service) * 1000;
      loadUsers = await createLoadUsers(VIRTUAL_USERS, 'flt');
      const jobsBefore = await workerJobCounts(worker.url);
      const deadLettersBefore = await deadLetterCount(nats);
      const since = await databaseNow(db.write);

      watch = watchReadiness(server.url);
      load = startLoad({ baseUrls: [server.url], users: loadUsers.users, seed });
      const running = load;
      await eventually(() => running.responses.length >= 40, 30_000);
      await eventually(() => isReadiness(lastSample()?.body, ALL_OK), 10_000);

      const stopSent = watch.now();
      await stopService(service);
      const down = watch.now();
      const expectedDown = { ...ALL_OK, [dependency]: 'down' };
      await eventually(() => isReadiness(lastSample()?.body, expectedDown), DETECTION_BOUND_MS);
      const detected = watch.now();
      // The fault is held for a while under load: this is the scenario, not a synchronisation.
      await sleep(Math.max(0, down + DOWN_MS - watch.now()));

      const startSent = watch.now();
      await startService(service);
      const up = watch.now();
      await eventually(
        () => lastSample()?.status === 200 && isReadiness(lastSample()?.body, ALL_OK),
        RECOVERY_BOUND_MS,
      );
      const recovered = watch.now();
      const answeredAfterRecovery = () =>
        running.responses.filter((r) => r.sentAt > recovered + SETTLED_AFTER_RECOVERY_MS).length;
      await eventually(() => answeredAfterRecovery() >= RESPONSES_AFTER_RECOVERY, 60_000);
      const result = await running.stop();
      load = undefined;
      await watch.stop();
      const samples = watch.samples;
      watch = undefined;

      // Every answer while it was down names exactly the lost dependency.
      const whileDown = samples.filter((s) => s.at >= detected && s.at + 2_500 < startSent);
      expect(whileDown.length).toBeGreaterThan(0);
      expect(
        whileDown.filter((s) => s.status !== 503 || !isReadiness(s.body, expectedDown)),
      ).toEqual([]);

      const unexpected = unexpected5xx(result.responses);
      const noAnswer = unanswered(result.responses);
      const failedAfterRecovery = result.responses.filter(
        (r) => r.sentAt > recovered + SETTLED_AFTER_RECOVERY_MS && r.status >= 500,
      );

      // The processes live on and answer, with no restart.
      expect(exits).toEqual([]);
      expect((await fetch(`${server.url}/health-check`)).status).toBe(204);
      expect((await fetch(`${worker.url}/health`)).status).toBe(200);

      const writes = await verifyAcknowledgedWrites(server.url, db.write, result.ledger);

      let jobs = { written: 0, unsent: 0 };
      let inFlight = -1;
      await eventually(async () => {
        jobs = await outboxRowsSince(db.write, since, INDEX_JOBS);
        inFlight = await jobsInFlight(nats, INDEX_JOBS);
        return jobs.unsent === 0 && inFlight === 0;
      }, JOBS_SETTLE_BOUND_MS).catch(() => undefined);
      const staleIndex = await verifySearchIndex(
        server.url,
        db.write,
        result.ledger,
        JOBS_SETTLE_BOUND_MS,
      );
      const jobsAfter = await workerJobCounts(worker.url);
      const handled = countDelta(jobsBefore.processed, jobsAfter.processed, INDEX_JOBS);
      const deadLettered = (await deadLetterCount(nats)) - deadLettersBefore;

      const acknowledgedWrites = result.responses.filter(
        (r) => WRITE_OPERATIONS.has(r.operation) && r.status >= 200 && r.status < 300,
      ).length;
      const lostJobs = jobs.unsent + Math.max(0, jobs.written - handled) + deadLettered;
      recordScenario({
        scenario: `fault: ${service} stopped ${((startSent - stopSent) / 1000).toFixed(1)} s under load`,
        requests: result.responses.length,
        faults: `${service} stop + start`,
        unexpected5xx: unexpected.length + noAnswer.length,
        lost: writes.lost.length + lostJobs + staleIndex.length,
        notes:
          `${acknowledgedWrites} acknowledged writes, ${writes.checked} read back; ` +
          `${jobs.written} index jobs, ${handled} handled, ${deadLettered} dead-lettered; ` +
          `readiness down after ${((detected - down) / 1000).toFixed(1)} s, ` +
          `all ok ${((recovered - up) / 1000).toFixed(1)} s after restart; ` +
          `answers: ${tally(result.responses)}`,
      });

      expect(unexpected, tally(unexpected)).toEqual([]);
      expect(noAnswer, tally(noAnswer)).toEqual([]);
      expect(failedAfterRecovery, tally(failedAfterRecovery)).toEqual([]);
      expect(writes.lost).toEqual([]);
      expect(jobs.unsent).toBe(0);
      expect(inFlight).toBe(0);
      expect(staleIndex).toEqual([]);
      expect(deadLettered).toBe(0);
      expect(handled).toBeGreaterThanOrEqual(jobs.written);

      await loadUsers.remove();
      loadUsers = undefined;
    });
  }
});
