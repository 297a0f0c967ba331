import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import winston from 'winston';
import { enqueueJob } from '../../src/bridge/outbox.ts';
import { startOutboxRelay, type OutboxRelay } from '../../src/bridge/relay.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { createPrivateOutbox, type PrivateOutbox } from './support/outbox-schema.ts';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.ts';
import { readAllMessages } from './support/stream-reader.ts';

const JOBS = 20;
let natsServer: PrivateNats;
let nc: NatsConnection;
let outbox: PrivateOutbox;
let relay: OutboxRelay;
const logged: Array<{ level: string; message: string }> = [];

/** Keeps what the relay logs, to count its outage warnings. */
const logger = winston.createLogger({
  level: 'info',
  format: winston.format.json(),
  transports: [
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logged.push(JSON.parse(chunk.toString()) as { level: string; message: string });
          done();
        },
      }),
    }),
  ],
});

async function eventually(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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
