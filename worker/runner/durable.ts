import { AckPolicy, DeliverPolicy, nanos, type JetStreamManager } from 'nats';
import { jobStreams, type JobName } from '../../src/shared/constants/jobs.ts';

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
    max_ack_pending: concurrency,
    max_deliver: -1,
  });
}
