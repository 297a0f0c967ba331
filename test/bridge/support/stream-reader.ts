import { AckPolicy, type NatsConnection } from 'nats';

export interface ReadMessage {
  /** The Nats-Msg-Id header: the outbox id the relay published under. */
  msgId: string | undefined;
  subject: string;
  payload: unknown;
}

/**
 * Takes every message the stream holds through a durable pull consumer of the test's own:
 * duplicates would be there as messages of their own.
 */
export async function readAllMessages(nc: NatsConnection, stream: string): Promise<ReadMessage[]> {
  const jsm = await nc.jetstreamManager();
  const total = (await jsm.streams.info(stream)).state.messages;
  if (total === 0) return [];
  const durable = 'bridge-test-reader';
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit });
  const consumer = await nc.jetstream().consumers.get(stream, durable);
  const read: ReadMessage[] = [];
  for await (const msg of await consumer.fetch({ max_messages: total, expires: 5000 })) {
    read.push({
      msgId: msg.headers?.get('Nats-Msg-Id'),
      subject: msg.subject,
      payload: msg.json(),
    });
    msg.ack();
  }
  return read;
}
