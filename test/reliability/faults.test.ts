import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import type { Readiness } from '../../src/modules/health/health.service.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { createStorage, type Storage } from '../../src/shared/clients/s3.ts';
import { jobStreams, type JobName } from '../../src/shared/constants/jobs.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';
import { eventually, sleep } from '../support/wait.ts';
import {
  databaseNow,
  deadLetterCount,
  outboxRowsSince,
  settleJobs,
  workerJobCount,
} from './support/jobs.ts';
import { startLoad, WRITE_OPERATIONS, type Load } from './support/load.ts';
import {
  FAIL_FAST_BOUND_MS,
  slow5xx,
  tally,
  unanswered,
  unexpected5xx,
  type AllowedFailures,
} from './support/load-summary.ts';
import { createLoadUsers } from './support/load-users.ts';
import { fuzzSeed } from './support/mode.ts';
import { logEntries } from './support/process-log.ts';
import { startServerProcess, startWorkerProcess, type KitProcess } from './support/processes.ts';
import { watchReadiness } from './support/readiness-watch.ts';
import { recordScenario } from './support/report.ts';
import { startService, stopService, type StackService } from './support/services.ts';
import {
  acknowledgedInLedger,
  verifyAcknowledgedWrites,
  verifySearchIndex,
} from './support/verify-writes.ts';

/**
 * Fault injection under load (issue 13 item 2): with one server and one worker started as
 * production starts them and a mixed read/write load running throughout, each service is
 * stopped, held down for HOLD_AFTER_DETECTION_MS once readiness has seen it go, and started
 * again. The server must answer every request (2xx, 4xx, or a 5xx that docs/operations.md
 * lists for that operation while that dependency is down, answered fast), readiness must name
 * exactly the lost dependency and recover, no acknowledged write and no job may be lost, and
 * neither process may die.
 */

const UNAVAILABLE = ['503 system:dependency_unavailable'];

/** docs/operations.md, "When a dependency goes down", one row per service. */
const FAULTS: { service: StackService; dependency: keyof Readiness; allowed: AllowedFailures }[] = [
  {
    // The operations that need a session; the public reads (posts, search, action logs) do not.
    service: 'redis-session',
    dependency: 'redis',
    allowed: {
      login: UNAVAILABLE,
      createPost: UNAVAILABLE,
      updatePost: UNAVAILABLE,
      updateMe: UNAVAILABLE,
      getMe: UNAVAILABLE,
    },
  },
  { service: 'redis-cache', dependency: 'redis', allowed: {} },
  { service: 'nats', dependency: 'nats', allowed: {} },
  {
    service: 'postgres-replica',
    dependency: 'postgres',
    allowed: { listPosts: UNAVAILABLE, listActionLogs: UNAVAILABLE },
  },
  {
    service: 'postgres-primary',
    dependency: 'postgres',
    allowed: {
      login: UNAVAILABLE,
      createPost: UNAVAILABLE,
      updatePost: UNAVAILABLE,
      updateMe: UNAVAILABLE,
      getPost: UNAVAILABLE,
      getMe: UNAVAILABLE,
      searchPosts: ['502 search:query_failed'],
    },
  },
  {
    service: 's3rver',
    dependency: 'storage',
    allowed: { createPost: UNAVAILABLE, updatePost: UNAVAILABLE, getPost: UNAVAILABLE },
  },
];

const VIRTUAL_USERS = 4;
/** The load must have answered this many requests before the fault is injected. */
const WARM_UP_RESPONSES = 40;
const WARM_UP_BOUND_MS = 30_000;
/** Readiness probes are bounded at 2 s; a loss shows within a few polls of that. */
const DETECTION_BOUND_MS = 10_000;
/** How long the fault is held under load once readiness has reported it. */
const HOLD_AFTER_DETECTION_MS = 5_000;
/**
 * A probe sent less than this before the restart may answer after it (probes are bounded at
 * 2 s), so it may already see the service back: such probes are not held to `down`.
 */
const PROBE_OVERLAP_MS = 2_500;
/** From the service answering again to readiness all `ok`: reconnect back-offs are ≤ 2 s. */
const RECOVERY_BOUND_MS = 15_000;
/**
 * Once readiness is all `ok` again and this long has passed, the server answers as before
 * the fault (no 5xx at all), without a restart: the load must get this many such answers.
 */
const SETTLED_AFTER_RECOVERY_MS = 3_000;
const RESPONSES_AFTER_RECOVERY = 60;
const AFTER_RECOVERY_BOUND_MS = 60_000;
/** From recovery to an empty outbox, idle consumers and an up-to-date search index. */
const JOBS_SETTLE_BOUND_MS = 45_000;
/** A virtual user's request in flight when the load stops may take the client's timeout. */
const LOAD_STOP_BOUND_MS = 40_000;
/** service.sh's own bound on one stop or start. */
const SERVICE_ACTION_BOUND_MS = 120_000;
const TEST_TIMEOUT_MS =
  WARM_UP_BOUND_MS +
  2 * SERVICE_ACTION_BOUND_MS +
  DETECTION_BOUND_MS +
  HOLD_AFTER_DETECTION_MS +
  RECOVERY_BOUND_MS +
  SETTLED_AFTER_RECOVERY_MS +
  AFTER_RECOVERY_BOUND_MS +
  LOAD_STOP_BOUND_MS +
  2 * JOBS_SETTLE_BOUND_MS;
const CLEANUP_TIMEOUT_MS = LOAD_STOP_BOUND_MS + SERVICE_ACTION_BOUND_MS;

const INDEX_JOBS = ['indexPost', 'indexUser'] as const;
const PROCESSED = 'worker_jobs_processed_total';
const FAILED = 'worker_jobs_failed_total';
const ALL_JOBS = Object.keys(jobStreams) as JobName[];
const ALL_OK: Readiness = { postgres: 'ok', redis: 'ok', nats: 'ok', storage: 'ok' };

let server: KitProcess;
let worker: KitProcess;
let db: Database;
let storage: Storage;
let nats: NatsConnection;
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
  storage = createStorage(loadWorkerConfig(process.env).storage);
  nats = await createNats(process.env.NATS_URL!, 'faults-test');
});

afterAll(async () => {
  await Promise.all([server?.stop(), worker?.stop()]);
  await closeNats(nats);
  await storage?.close();
  await db?.close();
});

/** The last requests the server logged as failed at error level: why a 5xx was unexpected. */
const loggedFailures = (kit: KitProcess) =>
  logEntries(kit)
    .filter((entry) => entry.level === 'error' && entry.message === 'request failed')
    .slice(-5)
    .map((entry) => JSON.stringify(entry.meta))
    .join('\n');

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

describe.sequential('fault injection under load', () => {
  for (const [index, { service, dependency, allowed }] of FAULTS.entries()) {
    it(
      `When ${service} stops and starts again under load, then only the 5xx documented for it answer, fast, readiness names ${dependency} and recovers, and no write or job is lost`,
      async () => {
        const users = await createLoadUsers(VIRTUAL_USERS, 'flt');
        onTestFinished(() => users.remove(), CLEANUP_TIMEOUT_MS);
        const handledBefore = await workerJobCount(worker.url, PROCESSED, INDEX_JOBS);
        const failedBefore = await workerJobCount(worker.url, FAILED, INDEX_JOBS);
        const deadLettersBefore = await deadLetterCount(nats);
        const since = await databaseNow(db.write);
        const expectedDown: Readiness = { ...ALL_OK, [dependency]: 'down' };

        const watch = watchReadiness(server.url);
        const load: Load = startLoad({
          baseUrls: [server.url],
          users: users.users,
          seed: fuzzSeed() + index,
        });
        let serviceStopped = false;
        // Registered last, so it runs first: the next scenario finds the stack whole and idle.
        onTestFinished(async () => {
          await load.stop();
          await watch.stop();
          if (serviceStopped) await startService(service);
        }, CLEANUP_TIMEOUT_MS);
        const lastSample = () => watch.samples.at(-1);

        await eventually(() => load.responses.length >= WARM_UP_RESPONSES, WARM_UP_BOUND_MS);
        await eventually(() => isReadiness(lastSample()?.body, ALL_OK), DETECTION_BOUND_MS);

        const stopSent = Date.now();
        serviceStopped = true;
        await stopService(service);
        const down = Date.now();
        await eventually(() => isReadiness(lastSample()?.body, expectedDown), DETECTION_BOUND_MS);
        const detected = Date.now();
        // The fault is held under load: this is the scenario, not a synchronisation.
        await sleep(HOLD_AFTER_DETECTION_MS);
        const outboxAtRestart =
          service === 'postgres-primary'
            ? undefined
            : (await outboxRowsSince(db.write, since, INDEX_JOBS)).unsent;
        const startSent = Date.now();
        await startService(service);
        serviceStopped = false;
        const up = Date.now();
        await eventually(
          () => lastSample()?.status === 200 && isReadiness(lastSample()?.body, ALL_OK),
          RECOVERY_BOUND_MS,
        );
        const timeline: FaultTimeline = {
          stopSent,
          down,
          detected,
          startSent,
          up,
          recovered: Date.now(),
          outboxAtRestart,
        };

        const settledAfter = timeline.recovered + SETTLED_AFTER_RECOVERY_MS;
        const answeredAfterRecovery = () =>
          load.responses.filter((r) => r.sentAt > settledAfter).length;
        await eventually(
          () => answeredAfterRecovery() >= RESPONSES_AFTER_RECOVERY,
          AFTER_RECOVERY_BOUND_MS,
        );
        const result = await load.stop();
        await watch.stop();
        const samples = watch.samples;

        const alive = {
          server: (await fetch(`${server.url}/health-check`)).status,
          worker: (await fetch(`${worker.url}/health`)).status,
        };
        const writes = await verifyAcknowledgedWrites(db.write, storage.content, result.ledger);
        const jobs = await settleJobs(db.write, nats, since, ALL_JOBS, JOBS_SETTLE_BOUND_MS);
        const jobsSettled = Date.now();
        const staleIndex = await verifySearchIndex(
          db.write,
          writes.stored,
          result.ledger,
          JOBS_SETTLE_BOUND_MS,
        );
        const handled = (await workerJobCount(worker.url, PROCESSED, INDEX_JOBS)) - handledBefore;
        const retried = (await workerJobCount(worker.url, FAILED, INDEX_JOBS)) - failedBefore;
        const deadLettered = (await deadLetterCount(nats)) - deadLettersBefore;

        const unexpected = unexpected5xx(result.responses, allowed);
        const slow = slow5xx(result.responses);
        const noAnswer = unanswered(result.responses);
        const failedAfterRecovery = result.responses.filter(
          (r) => r.sentAt > settledAfter && r.status >= 500,
        );
        // Every readiness answer between detection and restart names exactly the lost
        // dependency, but for probes that may have overlapped the restart.
        const whileDown = samples.filter(
          (s) => s.at >= timeline.detected && s.at + PROBE_OVERLAP_MS < timeline.startSent,
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
          unexpected5xx:
            unexpected.length + slow.length + noAnswer.length + failedAfterRecovery.length,
          lost: writes.lost.length + jobs.unsent + jobs.inFlight + deadLettered + staleIndex.length,
          notes:
            `${acknowledgedWrites} acknowledged writes; ${writes.checked} posts, profiles and ` +
            `logins read back from the primary and the content store, ${writes.lost.length} ` +
            `not as acknowledged; ${jobs.written} jobs` +
            (timeline.outboxAtRestart === undefined
              ? ''
              : ` (${timeline.outboxAtRestart} index jobs waiting in the outbox at restart)`) +
            `, ${handled} index jobs handled, ${retried} handler failures retried, ` +
            `${deadLettered} dead-lettered, all done ${seconds(jobsSettled - timeline.recovered)} ` +
            `after recovery; ${writes.stored.posts.size} posts and ${writes.stored.users.size} ` +
            `users checked in the search index; readiness ${dependency} down after ` +
            `${seconds(timeline.detected - timeline.down)}, all ok ` +
            `${seconds(timeline.recovered - timeline.up)} after restart; slowest answer ` +
            `${slowest} ms; answers: ${tally(result.responses)}`,
        });

        expect(exits).toEqual([]);
        expect(alive).toEqual({ server: 204, worker: 200 });
        const why = unexpected.length > 0 ? `; the server logged:\n${loggedFailures(server)}` : '';
        expect(unexpected, `${tally(unexpected)}${why}`).toEqual([]);
        expect(slow, `5xx slower than ${FAIL_FAST_BOUND_MS} ms: ${tally(slow)}`).toEqual([]);
        expect(noAnswer, tally(noAnswer)).toEqual([]);
        expect(failedAfterRecovery, tally(failedAfterRecovery)).toEqual([]);
        expect(whileDown.length).toBeGreaterThan(0);
        expect(wrongReadiness).toEqual([]);
        expect(writes.checked).toBe(acknowledgedInLedger(result.ledger));
        expect(writes.lost).toEqual([]);
        expect(jobs.unsent).toBe(0);
        expect(jobs.inFlight).toBe(0);
        expect(staleIndex).toEqual([]);
        expect(deadLettered).toBe(0);
        // With NATS gone the relay cannot publish: the jobs must have waited in the outbox.
        if (service === 'nats') expect(timeline.outboxAtRestart).toBeGreaterThan(0);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
