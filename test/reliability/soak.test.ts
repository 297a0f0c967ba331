import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createStorage, type Storage } from '../../src/shared/clients/s3.ts';
import { jobStreams, type JobName } from '../../src/shared/constants/jobs.ts';
import { sleep } from '../support/wait.ts';
import { databaseNow, settleJobs } from './support/jobs.ts';
import { startLoad, type Load } from './support/load.ts';
import { slow5xx, tally, unanswered, unexpected5xx } from './support/load-summary.ts';
import { createLoadUsers, type LoadUsers } from './support/load-users.ts';
import { fuzzSeed, soakMs } from './support/mode.ts';
import {
  sampleProcesses,
  type ProcessSample,
  type ProcessSampler,
} from './support/process-sampler.ts';
import { startServerProcess, startWorkerProcess, type KitProcess } from './support/processes.ts';
import { recordScenario } from './support/report.ts';
import {
  acknowledgedInLedger,
  verifyAcknowledgedWrites,
  verifySearchIndex,
} from './support/verify-writes.ts';

/**
 * The soak (issue 13 item 7, opt-in: `bash scripts/test-reliability.sh --soak`, which alone
 * includes this file): the mixed load for RELIABILITY_SOAK_SECS against two servers and one
 * worker, sampling each process's RSS, V8 heap and event-loop delay. No fault is injected, so
 * no request may get a 5xx. After the warm-up, the least-squares slope of RSS and of the heap
 * in use may be at most GROWTH_SLOPE_BOUND_MIB_PER_MIN, RSS may end at most
 * RSS_GROWTH_BOUND_MIB above where it was, and the event-loop delay may not climb (lagBoundMs).
 */

const VIRTUAL_USERS = 6;
const SAMPLE_INTERVAL_MS = 2_000;
/** JIT, pools and caches fill during the first 30 s; growth counts from there. */
const WARM_UP_MS = 30_000;
/**
 * A fitted slope says something only over a window much longer than garbage collection's
 * sawtooth: over 45 s after a 15 s warm-up, processes that then stayed flat for a minute and a
 * half still showed 10-30 MiB/min of heap filling towards its first major collection. So the
 * soak measures at least 90 s after the warm-up (RELIABILITY_SOAK_SECS ≥ 120).
 */
const MIN_MEASURED_MS = 90_000;
const RSS_GROWTH_BOUND_MIB = 64;
/**
 * A process that settled after the warm-up grows by about nothing per minute (a 2-minute run
 * fitted -5 to +2 MiB/min); garbage collection's sawtooth moves a fitted slope over 90 s by a
 * few MiB/min. Each server serves ~40 requests a second, so 12 MiB/min is ~5 KiB kept per
 * request; a leak of the 40 MiB/min kind fails at once.
 */
const GROWTH_SLOPE_BOUND_MIB_PER_MIN = 12;
/**
 * The median per-window p99 event-loop delay of the last third after warm-up may be at most
 * twice the first third's plus 50 ms: other work on a shared machine moves both thirds alike,
 * while a loop that grows with time (a leak scanned on every tick) keeps climbing.
 */
const lagBoundMs = (earlyMs: number) => 2 * earlyMs + 50;
const JOBS_SETTLE_BOUND_MS = 60_000;
const ALL_JOBS = Object.keys(jobStreams) as JobName[];

let processes: KitProcess[] = [];
let db: Database;
let storage: Storage;
let nats: NatsConnection;
let loadUsers: LoadUsers | undefined;
let load: Load | undefined;
let sampler: ProcessSampler | undefined;
const exits: string[] = [];

beforeAll(async () => {
  processes = await Promise.all([
    startServerProcess({ name: 'soak-server-a', env: { TRUST_PROXY: 'loopback' } }),
    startServerProcess({ name: 'soak-server-b', env: { TRUST_PROXY: 'loopback' } }),
    startWorkerProcess({ name: 'soak-worker' }),
  ]);
  for (const kit of processes) {
    void kit.exited.then((exit) => exits.push(`${kit.name} exited ${JSON.stringify(exit)}`));
  }
  const url = process.env.DATABASE_URL!;
  db = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, 'soak-test');
  storage = createStorage(loadWorkerConfig(process.env).storage);
  nats = await createNats(process.env.NATS_URL!, 'soak-test');
  loadUsers = await createLoadUsers(VIRTUAL_USERS, 'soak');
});

afterAll(async () => {
  await load?.stop();
  await sampler?.stop();
  await loadUsers?.remove();
  await Promise.all(processes.map((kit) => kit.stop()));
  await closeNats(nats);
  await storage?.close();
  await db?.close();
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** Least-squares slope of `value` against time, per minute. */
function slopePerMinute(samples: readonly ProcessSample[], value: (s: ProcessSample) => number) {
  const xs = samples.map((s) => s.at / 60_000);
  const ys = samples.map(value);
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (const [i, x] of xs.entries()) {
    num += (x - meanX) * (ys[i]! - meanY);
    den += (x - meanX) ** 2;
  }
  return num / den;
}

interface Growth {
  name: string;
  samples: number;
  warmRssMiB: number;
  endRssMiB: number;
  peakRssMiB: number;
  rssSlope: number;
  heapSlope: number;
  earlyLagMs: number;
  lateLagMs: number;
}

function growthOf(name: string, samples: readonly ProcessSample[], warmAt: number): Growth {
  const afterWarmUp = samples.filter((s) => s.at >= warmAt);
  const third = Math.max(1, Math.floor(afterWarmUp.length / 3));
  return {
    name,
    samples: afterWarmUp.length,
    warmRssMiB: afterWarmUp[0]!.rssMiB,
    endRssMiB: afterWarmUp.at(-1)!.rssMiB,
    peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)),
    rssSlope: slopePerMinute(afterWarmUp, (s) => s.rssMiB),
    heapSlope: slopePerMinute(afterWarmUp, (s) => s.heapUsedMiB),
    earlyLagMs: median(afterWarmUp.slice(0, third).map((s) => s.eventLoopLagP99Ms)),
    lateLagMs: median(afterWarmUp.slice(-third).map((s) => s.eventLoopLagP99Ms)),
  };
}

it(
  `When the mixed load runs for ${soakMs / 1000} s against two servers and a worker, then memory and event-loop delay stop growing after the warm-up and nothing is lost`,
  async () => {
    expect(
      soakMs - WARM_UP_MS,
      `RELIABILITY_SOAK_SECS must leave ${MIN_MEASURED_MS / 1000} s after the ${WARM_UP_MS / 1000} s warm-up`,
    ).toBeGreaterThanOrEqual(MIN_MEASURED_MS);
    const since = await databaseNow(db.write);
    const servers = processes.filter((kit) => kit.name.includes('server')).map((kit) => kit.url);
    sampler = sampleProcesses(processes, SAMPLE_INTERVAL_MS);
    const startedAt = Date.now();
    load = startLoad({ baseUrls: servers, users: loadUsers!.users, seed: fuzzSeed() });
    // The soak's length is the scenario itself, not a synchronisation.
    await sleep(soakMs);
    const result = await load.stop();
    load = undefined;
    await sampler.stop();
    const samples = sampler.samples;
    sampler = undefined;

    const writes = await verifyAcknowledgedWrites(db.write, storage.content, result.ledger);
    const jobs = await settleJobs(db.write, nats, since, ALL_JOBS, JOBS_SETTLE_BOUND_MS);
    const staleIndex = await verifySearchIndex(
      db.write,
      writes.stored,
      result.ledger,
      JOBS_SETTLE_BOUND_MS,
    );

    const growth = [...samples].map(([name, list]) => growthOf(name, list, startedAt + WARM_UP_MS));
    // No fault: no operation may get any 5xx, fast or slow.
    const unexpected = unexpected5xx(result.responses, {});
    const slow = slow5xx(result.responses);
    const noAnswer = unanswered(result.responses);
    const rate = result.responses.length / (result.durationMs / 1000);
    recordScenario({
      scenario: `soak: mixed load for ${soakMs / 1000} s, 2 servers + 1 worker`,
      requests: result.responses.length,
      faults: 'none',
      unexpected5xx: unexpected.length + noAnswer.length,
      lost: writes.lost.length + jobs.unsent + jobs.inFlight + staleIndex.length,
      notes:
        `${rate.toFixed(0)} req/s; ${jobs.written} index jobs; ` +
        growth
          .map(
            (g) =>
              `${g.name} RSS ${g.warmRssMiB.toFixed(0)} → ${g.endRssMiB.toFixed(0)} MiB ` +
              `(peak ${g.peakRssMiB.toFixed(0)}), slope RSS ${g.rssSlope.toFixed(1)} heap ` +
              `${g.heapSlope.toFixed(1)} MiB/min over ${g.samples} samples, loop p99 ${g.earlyLagMs.toFixed(0)} → ` +
              `${g.lateLagMs.toFixed(0)} ms`,
          )
          .join('; ') +
        `; answers: ${tally(result.responses)}`,
    });

    expect(exits).toEqual([]);
    expect(unexpected, tally(unexpected)).toEqual([]);
    expect(noAnswer, tally(noAnswer)).toEqual([]);
    expect(slow, tally(slow)).toEqual([]);
    expect(writes.checked).toBe(acknowledgedInLedger(result.ledger));
    expect(writes.lost).toEqual([]);
    expect(jobs.unsent).toBe(0);
    expect(jobs.inFlight).toBe(0);
    expect(staleIndex).toEqual([]);
    for (const g of growth) {
      expect(g.endRssMiB, `${g.name} RSS`).toBeLessThanOrEqual(g.warmRssMiB + RSS_GROWTH_BOUND_MIB);
      expect(g.rssSlope, `${g.name} RSS MiB/min`).toBeLessThanOrEqual(
        GROWTH_SLOPE_BOUND_MIB_PER_MIN,
      );
      expect(g.heapSlope, `${g.name} heap MiB/min`).toBeLessThanOrEqual(
        GROWTH_SLOPE_BOUND_MIB_PER_MIN,
      );
      expect(g.lateLagMs, `${g.name} event-loop delay`).toBeLessThanOrEqual(
        lagBoundMs(g.earlyLagMs),
      );
    }
  },
  soakMs + 180_000,
);
