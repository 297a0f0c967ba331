import type { JetStreamManager } from 'nats';
import { jobStreams, type JobName } from '../../../src/shared/constants/jobs.ts';

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
