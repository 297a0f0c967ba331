import { AckPolicy } from 'nats';
import { closeNats, createNats } from '../../src/shared/clients/nats.ts';
import { jobStreams, type JobName } from '../../src/shared/constants/jobs.ts';

/**
 * The worker side of the jobs bench, in a process of its own as the worker is: a no-op pull
 * consumer that acks every message and, once it has seen `BENCH_JOBS` distinct ones, reports
 * each message's latency from enqueue (the UUIDv7 outbox id's timestamp) to consumption.
 */

export interface ConsumerReport {
  latenciesMs: number[];
  distinct: number;
  duplicates: number;
}

const job = process.env.BENCH_JOB as JobName;
const jobs = Number(process.env.BENCH_JOBS);
const { stream } = jobStreams[job];
const durable = 'bench-consumer';
/** Enough messages in flight that the consumer never holds the relay back. */
const IN_FLIGHT = 1000;

const enqueuedAt = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

const nc = await createNats(process.env.NATS_URL!, 'bench-worker');
await (
  await nc.jetstreamManager()
).consumers.add(stream, {
  durable_name: durable,
  ack_policy: AckPolicy.Explicit,
  max_ack_pending: IN_FLIGHT,
});
const messages = await (
  await nc.jetstream().consumers.get(stream, durable)
).consume({ max_messages: IN_FLIGHT });
process.send!('ready');

const latenciesMs: number[] = [];
const seen = new Set<string>();
let duplicates = 0;
for await (const msg of messages) {
  const id = msg.headers?.get('Nats-Msg-Id') ?? '';
  latenciesMs.push(Date.now() - enqueuedAt(id));
  if (seen.has(id)) duplicates += 1;
  seen.add(id);
  msg.ack();
  if (seen.size === jobs) break;
}
await closeNats(nc);
const report: ConsumerReport = { latenciesMs, distinct: seen.size, duplicates };
process.send!(report, () => process.exit(0));
