import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteSentOutboxRowsBefore } from '../../src/bridge/outbox.repository.ts';
import { enqueueJob } from '../../src/bridge/outbox.ts';
import { startOutboxRelay, type OutboxRelay } from '../../src/bridge/relay.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { InvalidJobPayloadError, type JobPayload } from '../../src/shared/jobs/payloads.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createPrivateOutbox, type PrivateOutbox } from './support/outbox-schema.ts';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.ts';
import { readAllMessages } from './support/stream-reader.ts';

let natsServer: PrivateNats;
let nc: NatsConnection;
let outbox: PrivateOutbox;
let relay: OutboxRelay;
const registry = new Registry();
const DAY = 24 * 3600 * 1000;

const postJob = (): JobPayload<'indexPost'> => ({ post_id: crypto.randomUUID(), action: 'index' });

async function metric(name: string): Promise<number> {
  const value = (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
  if (value === undefined) throw new Error(`${name} is not exported`);
  return value;
}

beforeAll(async () => {
  natsServer = await startPrivateNats();
  nc = await createNats(natsServer.url, 'bridge-test');
  await ensureStreams(await nc.jetstreamManager());
  outbox = await createPrivateOutbox(process.env.DATABASE_URL!);
  relay = startOutboxRelay({
    db: outbox.db.write,
    nats: nc,
    logger: createLogger({ env: 'test', level: 'error', service: 'test' }),
    intervalMs: 60_000,
    registry,
  });
  // The loop polls once at start. Stopped before any test enqueues, it cannot take a row a
  // test expects its own drainOnce to send, however late that first poll runs.
  await relay.stop();
});

afterAll(async () => {
  await outbox.drop();
  await closeNats(nc);
  await natsServer.destroy();
});

describe('enqueueJob and the relay', () => {
  it('When a job is enqueued in a transaction that rolls back, then it is never published', async () => {
    const rolledBack = postJob();
    await expect(
      outbox.db.write.transaction(async (trx) => {
        await enqueueJob(trx, 'indexPost', rolledBack);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const committed = postJob();
    const id = await outbox.db.write.transaction((trx) => enqueueJob(trx, 'indexPost', committed));

    expect(await relay.drainOnce()).toBe(1);

    const messages = await readAllMessages(nc, jobStreams.indexPost.stream);
    expect(messages).toEqual([
      { msgId: id, subject: jobStreams.indexPost.subject, payload: committed },
    ]);
  });

  it('When a payload does not match its schema, then enqueueJob throws and writes nothing', async () => {
    const invalid = { post_id: 'not-a-uuid', action: 'index' } as JobPayload<'indexPost'>;
    await expect(enqueueJob(outbox.db.write, 'indexPost', invalid)).rejects.toBeInstanceOf(
      InvalidJobPayloadError,
    );
    const email = { to: 'a@example.com', template: 'welcome', vars: {} };
    await expect(
      enqueueJob(outbox.db.write, 'email', email as unknown as JobPayload<'email'>),
    ).rejects.toThrow(/invalid email payload: template/);
    expect(await outbox.pendingCount()).toBe(0);
  });

  it('When jobs wait, then the lag gauge shows their age and the counter counts them once sent', async () => {
    const before = await metric('outbox_published_total');
    const oldest = await enqueueJob(outbox.db.write, 'indexPost', postJob());
    await enqueueJob(outbox.db.write, 'indexUser', {
      user_id: crypto.randomUUID(),
      action: 'delete',
    });
    await outbox.db
      .write('outbox')
      .where({ id: oldest })
      .update({ created_at: new Date(Date.now() - 60_000) });
    const lag = await metric('outbox_relay_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(60);
    expect(lag).toBeLessThan(300);

    expect(await relay.drainOnce()).toBe(2);

    expect(await metric('outbox_published_total')).toBe(before + 2);
    expect(await metric('outbox_relay_lag_seconds')).toBe(0);
    expect(await outbox.pendingCount()).toBe(0);
  });

  it('When sent rows are older than the cutoff, then cleanup deletes only those, at most a batch per call', async () => {
    const old = [postJob(), postJob()];
    const oldIds = await Promise.all(
      old.map((job) => enqueueJob(outbox.db.write, 'indexPost', job)),
    );
    expect(await relay.drainOnce()).toBe(2);
    await outbox.db
      .write('outbox')
      .whereIn('id', oldIds)
      .update({ sent_at: new Date(Date.now() - 2 * DAY) });
    const recentlySent = await enqueueJob(outbox.db.write, 'indexPost', postJob());
    expect(await relay.drainOnce()).toBe(1);
    const pending = await enqueueJob(outbox.db.write, 'indexPost', postJob());

    const cutoff = new Date(Date.now() - DAY);
    const deleted = [
      await deleteSentOutboxRowsBefore(outbox.db.write, cutoff, 1),
      await deleteSentOutboxRowsBefore(outbox.db.write, cutoff, 1),
      await deleteSentOutboxRowsBefore(outbox.db.write, cutoff, 1),
    ];

    expect(deleted).toEqual([1, 1, 0]);
    const left = await outbox.db.write('outbox').pluck<string[]>('id');
    expect(left).toEqual(expect.arrayContaining([recentlySent, pending]));
    expect(left.filter((id) => oldIds.includes(id))).toEqual([]);
  });
});
