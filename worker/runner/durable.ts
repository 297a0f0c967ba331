import { AckPolicy, DeliverPolicy, nanos, type JetStreamManager } from 'nats';
import { jobStreams, type JobName } from '../../src/shared/constants/jobs.ts';

/**
 * Worker replicas that can each run a job at its full concurrency. The durable is shared, so
 * its max_ack_pending caps all replicas together; each worker bounds its own share by pulling
 * only for free slots (consumer-loop.ts). Past this many replicas, more add no throughput.
 */
export const MAX_WORKER_REPLICAS = 32;

/**
 * Creates the job's durable pull consumer or brings its settings up to date (NATS treats an
 * add of an existing durable as an update). No `backoff` field: on NATS 2.9 it silently
 * replaces ack_wait with its first step; retries are paced by nak(delay) instead. Deliveries
 * are unlimited because the runner dead-letters by itself; a server-side cap would strand
 * messages without a trace.
 */
export async function ensureDurable(
  jsm: JetStreamManager,
  job: JobName,
  ackWaitMs: number,
): Promise<void> {
  const { stream, subject, durable, concurrency } = jobStreams[job];
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: subject,
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitMs),
    max_ack_pending: concurrency * MAX_WORKER_REPLICAS,
    max_deliver: -1,
  });
}
