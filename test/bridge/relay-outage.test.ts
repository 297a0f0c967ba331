import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueJob } from '../../src/bridge/outbox.ts';
import { startOutboxRelay, type OutboxRelay } from '../../src/bridge/relay.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { createPrivateOutbox, type PrivateOutbox } from './support/outbox-schema.ts';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.ts';
import { readAllMessages } from './support/stream-reader.ts';
import { createCapturingLogger } from '../support/capturing-logger.ts';
import { eventually } from '../support/wait.ts';

const JOBS = 20;
let natsServer: PrivateNats;
let nc: NatsConnection;
let outbox: PrivateOutbox;
let relay: OutboxRelay;
/** Keeps what the relay logs, to count its outage warnings. */
const { logger, entries: logged } = createCapturingLogger();

beforeAll(async () => {
  natsServer = await startPrivateNats();
  nc = await createNats(natsServer.url, 'bridge-test');
  await ensureStreams(await nc.jetstreamManager());
  outbox = await createPrivateOutbox(process.env.DATABASE_URL!);
  relay = startOutboxRelay({ db: outbox.db.write, nats: nc, logger, intervalMs: 50 });
});

afterAll(async () => {
  await relay.stop();
  await outbox.drop();
  await closeNats(nc);
  await natsServer.destroy();
});

it('When NATS is down, then jobs are still enqueued and wait, and once NATS is back each is delivered exactly once', async () => {
  await natsServer.stop();

  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 1) {
    const payload = { user_id: crypto.randomUUID(), action: 'index' as const };
    ids.push(await outbox.db.write.transaction((trx) => enqueueJob(trx, 'indexUser', payload)));
  }
  const warnings = () => logged.filter((entry) => entry.level === 'warn');
  // Several attempts fail (backing off 250, 500 ms...) before NATS comes back.
  await eventually(async () => warnings().length > 0, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(await outbox.pendingCount()).toBe(JOBS);

  await natsServer.start();
  await eventually(async () => (await outbox.pendingCount()) === 0, 20_000);

  const messages = await readAllMessages(nc, jobStreams.indexUser.stream);
  expect(messages.map((m) => m.msgId).sort()).toEqual([...ids].sort());
  expect(warnings()).toHaveLength(1);
  expect(logged.map((entry) => entry.message)).toContain('outbox relay publishing again');
});
