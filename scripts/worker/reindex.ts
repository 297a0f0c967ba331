import { parseArgs } from 'node:util';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { closeNats, createNats } from '../../src/shared/clients/nats.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { parseJobPayload } from '../../src/shared/jobs/payloads.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { runCommand } from './run-command.ts';

// npm run worker:reindex -- posts|users [--batch-size N]
// Enqueues the first batch; each batch enqueues the next, and the worker logs the progress.

const usage =
  'usage: npm run worker:reindex -- posts|users [--batch-size N (1-10000, default 500)]';
const jobs = { posts: 'reindexPosts', users: 'reindexUsers' } as const;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'batch-size': { type: 'string', default: '500' } },
  });
  const [target] = positionals;
  if (target !== 'posts' && target !== 'users') {
    console.error(usage);
    return 2;
  }
  const job = jobs[target];
  let payload;
  try {
    payload = parseJobPayload(job, {
      reindex_id: newId(),
      after_id: null,
      batch_size: Number(values['batch-size']),
    });
  } catch {
    console.error(usage);
    return 2;
  }

  const config = loadWorkerConfig();
  const nats = await createNats(config.nats.url, 'worker-reindex');
  try {
    await ensureStreams(await nats.jetstreamManager());
    const ack = await nats.jetstream().publish(jobStreams[job].subject, JSON.stringify(payload), {
      msgID: `${payload.reindex_id}:start`,
    });
    console.log(
      `reindex of ${target} enqueued: reindex_id=${payload.reindex_id} batch_size=${payload.batch_size} (seq ${ack.seq})`,
    );
    return 0;
  } finally {
    await closeNats(nats);
  }
}

await runCommand(main);
