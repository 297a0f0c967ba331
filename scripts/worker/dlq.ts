import { parseArgs } from 'node:util';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { closeNats, createNats } from '../../src/shared/clients/nats.ts';
import { ensureStreams } from '../../src/shared/jobs/streams.ts';
import { listDeadLetters, purgeDeadLetters, replayDeadLetter } from '../../worker/dlq.ts';
import { runCommand } from './run-command.ts';

// npm run worker:dlq -- list [--limit N] | replay <seq> | purge
// Dead letters are jobs that failed every retry or had an invalid payload (SPEC §5).

const usage = 'usage: npm run worker:dlq -- list [--limit N] | replay <seq> | purge';

function positiveInt(value: string | undefined): number | undefined {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { limit: { type: 'string', default: '50' } },
  });
  const [command, arg] = positionals;
  const limit = positiveInt(values.limit);
  const seq = positiveInt(arg);
  const valid =
    (command === 'list' && limit !== undefined) ||
    (command === 'replay' && seq !== undefined) ||
    command === 'purge';
  if (!valid) {
    console.error(usage);
    return 2;
  }

  const config = loadWorkerConfig();
  const nats = await createNats(config.nats.url, 'worker-dlq');
  try {
    const js = nats.jetstream();
    const jsm = await nats.jetstreamManager();
    await ensureStreams(jsm);
    if (command === 'list') {
      const { total, letters } = await listDeadLetters(js, jsm, limit ?? 0);
      console.log(
        `${total} dead letter(s)${total > letters.length ? `, oldest ${letters.length} shown` : ''}`,
      );
      for (const l of letters) {
        console.log(
          `${String(l.seq).padEnd(6)} ${l.time.toISOString()} ${l.originSubject.padEnd(36)} ${l.reason}`,
        );
      }
    } else if (command === 'replay' && seq !== undefined) {
      const { subject, messageId } = await replayDeadLetter(js, jsm, seq);
      console.log(`replayed ${seq} to ${subject} as ${messageId}; removed from the DLQ`);
    } else {
      console.log(`purged ${await purgeDeadLetters(jsm)} dead letter(s)`);
    }
    return 0;
  } finally {
    await closeNats(nats);
  }
}

await runCommand(main);
