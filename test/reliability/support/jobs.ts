import type { Knex } from 'knex';
import type { NatsConnection } from 'nats';
import { deadLetterStream, jobStreams } from '../../../src/shared/constants/jobs.ts';

type JobName = keyof typeof jobStreams;

/** The worker's job counters, read from its /metrics, per durable consumer. */
export interface WorkerJobCounts {
  processed: Record<string, number>;
  failed: Record<string, number>;
  deadLettered: Record<string, number>;
}

function countersNamed(metrics: string, name: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const line = new RegExp(`^${name}\\{consumer="([^"]+)"\\} (\\d+(?:\\.\\d+)?)$`, 'gm');
  for (const [, consumer, value] of metrics.matchAll(line)) counts[consumer!] = Number(value);
  return counts;
}

export async function workerJobCounts(workerUrl: string): Promise<WorkerJobCounts> {
  const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
  return {
    processed: countersNamed(metrics, 'worker_jobs_processed_total'),
    failed: countersNamed(metrics, 'worker_jobs_failed_total'),
    deadLettered: countersNamed(metrics, 'worker_jobs_dead_lettered_total'),
  };
}

/** How many more jobs of each kind the worker counted in `after` than in `before`. */
export function countDelta(
  before: Record<string, number>,
  after: Record<string, number>,
  jobs: readonly JobName[],
): number {
  return jobs.reduce((sum, job) => {
    const durable = jobStreams[job].durable;
    return sum + (after[durable] ?? 0) - (before[durable] ?? 0);
  }, 0);
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

/** Messages waiting in, or handed out and not yet acked by, each of these jobs' consumers. */
export async function jobsInFlight(nats: NatsConnection, jobs: readonly JobName[]) {
  const jsm = await nats.jetstreamManager();
  let inFlight = 0;
  for (const job of jobs) {
    const info = await jsm.consumers.info(jobStreams[job].stream, jobStreams[job].durable);
    inFlight += info.num_pending + info.num_ack_pending;
  }
  return inFlight;
}

export async function deadLetterCount(nats: NatsConnection): Promise<number> {
  const jsm = await nats.jetstreamManager();
  const info = await jsm.streams.info(deadLetterStream.stream);
  return info.state.messages;
}
