import type { Knex } from 'knex';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { deadLetterStream, jobStreams, type JobName } from '../../../src/shared/constants/jobs.ts';
import { eventually, settles } from '../../support/wait.ts';
import { scrapeMetrics } from './metrics.ts';

/** The worker's counter `name` (e.g. worker_jobs_processed_total) over these jobs' consumers. */
export async function workerJobCount(
  workerUrl: string,
  name: string,
  jobs: readonly JobName[],
): Promise<number> {
  const metrics = await scrapeMetrics(`${workerUrl}/metrics`);
  return jobs.reduce(
    (sum, job) => sum + metrics.value(name, { consumer: jobStreams[job].durable }),
    0,
  );
}

/** The database's clock, which stamps outbox rows' created_at. */
export async function databaseNow(db: Knex): Promise<Date> {
  const result: { rows: { now: Date }[] } = await db.raw('select now() as now');
  return result.rows[0]!.now;
}

/** Outbox rows of these kinds written since `since`: how many, and how many are still unsent. */
export async function outboxRowsSince(
  db: Knex,
  since: Date,
  jobs: readonly JobName[],
): Promise<{ written: number; unsent: number }> {
  const rows: { written: number; unsent: number }[] = await db('outbox')
    .where('created_at', '>=', since)
    .whereIn(
      'subject',
      jobs.map((job) => jobStreams[job].subject),
    )
    .select(
      db.raw('count(*)::int as written'),
      db.raw('count(*) filter (where sent_at is null)::int as unsent'),
    );
  return rows[0]!;
}

/** What JetStream says about one job's stream and its shared durable consumer. */
export async function jobQueueState(jsm: JetStreamManager, job: JobName) {
  const { stream, durable } = jobStreams[job];
  const [streamInfo, consumer] = await Promise.all([
    jsm.streams.info(stream),
    jsm.consumers.info(stream, durable),
  ]);
  return {
    /** Messages the stream ever accepted: a duplicate publish dropped by Nats-Msg-Id adds none. */
    lastSequence: streamInfo.state.last_seq,
    /** Not yet delivered, plus delivered and not yet acked. */
    unfinished: consumer.num_pending + consumer.num_ack_pending,
    /** Pull requests waiting for messages: an idle worker keeps one open per slot. */
    waitingPulls: consumer.num_waiting,
  };
}

/** Messages waiting in, or handed out and not yet acked by, each of these jobs' consumers. */
export async function jobsInFlight(nats: NatsConnection, jobs: readonly JobName[]) {
  const jsm = await nats.jetstreamManager();
  let inFlight = 0;
  for (const job of jobs) inFlight += (await jobQueueState(jsm, job)).unfinished;
  return inFlight;
}

/**
 * Waits until every job consumer has nothing waiting or unacked, so a file leaves no job of
 * its own for the next file's workers (which would count it as theirs).
 */
export async function waitForJobQueuesDrained(natsUrl: string, timeoutMs = 20_000): Promise<void> {
  const nats = await connect({ servers: natsUrl });
  try {
    const all = Object.keys(jobStreams) as JobName[];
    await eventually(async () => (await jobsInFlight(nats, all)) === 0, timeoutMs);
  } finally {
    await nats.close();
  }
}

export interface JobsSettled {
  /** Outbox rows of these jobs written since `since`. */
  written: number;
  /** Of those, the ones the relay has not published yet. */
  unsent: number;
  /** Published and not yet acked by a worker. */
  inFlight: number;
}

/**
 * Waits up to `timeoutMs` until every outbox row of these jobs written since `since` is
 * relayed and its consumer has nothing waiting or unacked, then says where things stand.
 */
export async function settleJobs(
  db: Knex,
  nats: NatsConnection,
  since: Date,
  jobs: readonly JobName[],
  timeoutMs: number,
): Promise<JobsSettled> {
  let state: JobsSettled = { written: 0, unsent: 0, inFlight: 0 };
  await settles(async () => {
    const outbox = await outboxRowsSince(db, since, jobs);
    state = { ...outbox, inFlight: await jobsInFlight(nats, jobs) };
    return state.unsent === 0 && state.inFlight === 0;
  }, timeoutMs);
  return state;
}

export async function deadLetterCount(nats: NatsConnection): Promise<number> {
  const jsm = await nats.jetstreamManager();
  const info = await jsm.streams.info(deadLetterStream.stream);
  return info.state.messages;
}
