import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueJob } from '../../src/bridge/outbox.ts';
import { closeNats, createNats, type NatsConnection } from '../../src/shared/clients/nats.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { createPrivateOutbox, type PrivateOutbox } from './support/outbox-schema.ts';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.ts';
import { readAllMessages } from './support/stream-reader.ts';
import { eventually } from '../support/wait.ts';

const JOBS = 200;
let natsServer: PrivateNats;
let nc: NatsConnection;
let outbox: PrivateOutbox;
const relays: ChildProcess[] = [];

function startRelayProcess(): ChildProcess {
  const child = fork(new URL('./fixtures/relay-process.ts', import.meta.url), [], {
    env: {
      ...process.env,
      DATABASE_URL: outbox.url,
      NATS_URL: natsServer.url,
      // Small batches and a short poll, so both processes keep reaching for the same rows.
      RELAY_INTERVAL_MS: '10',
      RELAY_BATCH_SIZE: '10',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  relays.push(child);
  return child;
}

async function stopRelayProcess(child: ChildProcess): Promise<number> {
  const answer = once(child, 'message');
  child.send('stop');
  const [message] = (await answer) as [{ published: number }];
  return message.published;
}

beforeAll(async () => {
  natsServer = await startPrivateNats();
  nc = await createNats(natsServer.url, 'bridge-test');
  await ensureStreams(await nc.jetstreamManager());
  outbox = await createPrivateOutbox(process.env.DATABASE_URL!);
});

afterAll(async () => {
  for (const child of relays) if (child.exitCode === null) child.kill('SIGKILL');
  await outbox.drop();
  await closeNats(nc);
  await natsServer.destroy();
});

it('When two relay processes run at once, then each committed job is published by one of them and delivered exactly once', async () => {
  const processes = [startRelayProcess(), startRelayProcess()];
  await Promise.all(processes.map((child) => once(child, 'message')));

  const ids: string[] = [];
  // Four concurrent transactions of 50: the rows of each become visible to both relays at once.
  await Promise.all(
    [0, 1, 2, 3].map(() =>
      outbox.db.write.transaction(async (trx) => {
        for (let i = 0; i < JOBS / 4; i += 1) {
          const payload = { post_id: crypto.randomUUID(), action: 'index' as const };
          ids.push(await enqueueJob(trx, 'indexPost', payload));
        }
      }),
    ),
  );
  await eventually(async () => (await outbox.pendingCount()) === 0, 15_000);

  const published = await Promise.all(processes.map(stopRelayProcess));
  // The counters add up to the job count only if no row was sent by both relays.
  expect(published.reduce((a, b) => a + b, 0)).toBe(JOBS);
  expect(Math.min(...published)).toBeGreaterThan(0);

  const messages = await readAllMessages(nc, jobStreams.indexPost.stream);
  expect(messages).toHaveLength(JOBS);
  expect(new Set(messages.map((m) => m.msgId))).toEqual(new Set(ids));
});
