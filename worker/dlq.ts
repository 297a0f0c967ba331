import {
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgHdrs,
} from 'nats';
import { deadLetterStream, deadLetterSubject, type JobName } from '../src/shared/constants/jobs.ts';
import { newId } from '../src/shared/db/ids.ts';

/** What a dead letter records about its origin; `npm run worker:dlq` reads the same names. */
export const deadLetterHeaders = {
  originStream: 'Dlq-Origin-Stream',
  originSubject: 'Dlq-Origin-Subject',
  consumer: 'Dlq-Consumer',
  deliveryCount: 'Dlq-Delivery-Count',
  reason: 'Dlq-Reason',
  originMessageId: 'Dlq-Origin-Msg-Id',
  originSequence: 'Dlq-Origin-Sequence',
} as const;

// The first lines of an error are enough to triage; a header is no place for a whole stack.
const MAX_REASON_LENGTH = 500;

export interface DeadLetter {
  seq: number;
  time: Date;
  originStream: string;
  originSubject: string;
  consumer: string;
  deliveryCount: number;
  reason: string;
  originMessageId: string;
  originSequence: number;
}

/** Header values are single-line by protocol. */
function headerValue(value: string, max = Number.POSITIVE_INFINITY): string {
  const line = value.replace(/[\r\n]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Copies a job message to `axumkit.dlq.<origin>`. The message id makes a repeat of the same
 * delivery (the original's ack lost after this publish) a duplicate JetStream drops.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  job: JobName,
  msg: JsMsg,
  reason: string,
  originMessageId: string,
): Promise<void> {
  const h = headers();
  h.set(deadLetterHeaders.originStream, msg.info.stream);
  h.set(deadLetterHeaders.originSubject, msg.subject);
  h.set(deadLetterHeaders.consumer, msg.info.consumer);
  h.set(deadLetterHeaders.deliveryCount, String(msg.info.deliveryCount));
  h.set(deadLetterHeaders.reason, headerValue(reason, MAX_REASON_LENGTH) || 'unknown');
  h.set(deadLetterHeaders.originMessageId, headerValue(originMessageId));
  h.set(deadLetterHeaders.originSequence, String(msg.info.streamSequence));
  await js.publish(deadLetterSubject(job), msg.data, {
    headers: h,
    msgID: `dlq:${msg.info.stream}:${msg.info.streamSequence}`,
  });
}

function toDeadLetter(seq: number, time: Date, h: MsgHdrs | undefined): DeadLetter {
  const get = (name: string) => h?.get(name) ?? '';
  return {
    seq,
    time,
    originStream: get(deadLetterHeaders.originStream),
    originSubject: get(deadLetterHeaders.originSubject),
    consumer: get(deadLetterHeaders.consumer),
    deliveryCount: Number(get(deadLetterHeaders.deliveryCount)),
    reason: get(deadLetterHeaders.reason),
    originMessageId: get(deadLetterHeaders.originMessageId),
    originSequence: Number(get(deadLetterHeaders.originSequence)),
  };
}

/** The oldest `limit` dead letters, read through an ordered consumer (nothing is acked or removed). */
export async function listDeadLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  limit: number,
): Promise<{ total: number; letters: DeadLetter[] }> {
  const { state } = await jsm.streams.info(deadLetterStream.stream);
  const letters: DeadLetter[] = [];
  if (state.messages === 0 || limit <= 0) return { total: state.messages, letters };
  const consumer = await js.consumers.get(deadLetterStream.stream);
  const messages = await consumer.consume({ max_messages: Math.min(limit, 256) });
  try {
    for await (const msg of messages) {
      const time = new Date(Math.floor(msg.info.timestampNanos / 1e6));
      letters.push(toDeadLetter(msg.seq, time, msg.headers));
      if (letters.length >= limit || msg.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return { total: state.messages, letters };
}

/**
 * Republishes a dead letter's payload to its origin subject under a fresh message id (the
 * original id may still be in the duplicate window, and a side-effect dedup key for it would
 * skip the job), then removes it from the DLQ.
 */
export async function replayDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  seq: number,
): Promise<{ subject: string; messageId: string }> {
  const stored = await jsm.streams.getMessage(deadLetterStream.stream, { seq });
  const subject = stored.header?.get(deadLetterHeaders.originSubject);
  if (!subject) throw new Error(`dead letter ${seq} has no ${deadLetterHeaders.originSubject}`);
  const messageId = newId();
  await js.publish(subject, stored.data, { msgID: messageId });
  await jsm.streams.deleteMessage(deadLetterStream.stream, seq);
  return { subject, messageId };
}

export async function purgeDeadLetters(jsm: JetStreamManager): Promise<number> {
  const { purged } = await jsm.streams.purge(deadLetterStream.stream);
  return purged;
}
