import { Writable } from 'node:stream';
import winston from 'winston';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/db/ids.ts';
import { runReindexBatch } from '../../worker/consumers/reindex-batch.ts';
import { defineConsumer } from '../../worker/runner.ts';
import { createRunnerHarness, eventually, type RunnerHarness } from './support/runner-harness.ts';

let harness: RunnerHarness;

beforeEach(async () => {
  harness = await createRunnerHarness();
});

afterEach(async () => {
  await harness.close();
});

function capturingLogger() {
  const entries: Record<string, unknown>[] = [];
  const stream = new Writable({
    objectMode: true,
    write(entry: Record<string, unknown>, _encoding, done) {
      entries.push(entry);
      done();
    },
  });
  return {
    entries,
    logger: winston.createLogger({ transports: [new winston.transports.Stream({ stream })] }),
  };
}

describe('reindex batches', () => {
  it('When a reindex walks 5 rows in batches of 2, then each batch enqueues the next once and progress is logged per batch', async () => {
    const rows = Array.from({ length: 5 }, () => ({ id: newId() }));
    const indexed: string[] = [];
    const batches: { after: string | null; batchHeader: string | undefined }[] = [];
    const consumer = defineConsumer({
      job: 'reindexPosts',
      handle: (payload, ctx) => {
        batches.push({ after: payload.after_id, batchHeader: ctx.header('Reindex-Batch') });
        return runReindexBatch({
          job: 'reindexPosts',
          payload,
          ctx,
          js: harness.js,
          list: async (afterId, limit) =>
            rows.filter((row) => afterId === null || row.id > afterId).slice(0, limit),
          indexRow: async (row) => {
            indexed.push(row.id);
          },
        });
      },
    });
    const { entries, logger } = capturingLogger();
    await harness.start([consumer], { logger });
    const reindexId = newId();

    await harness.publish('reindexPosts', { reindex_id: reindexId, after_id: null, batch_size: 2 });

    await eventually('the walk to finish', () =>
      entries.some((e) => e.message === 'reindexPosts finished') ? true : undefined,
    );
    expect(indexed).toEqual(rows.map((row) => row.id));
    expect(batches).toEqual([
      { after: null, batchHeader: undefined },
      { after: rows[1]!.id, batchHeader: '2' },
      { after: rows[3]!.id, batchHeader: '3' },
    ]);
    const progress = entries.filter((e) => String(e.message).startsWith('reindexPosts'));
    expect(progress.map((e) => [e.message, e.batch, e.rows, e.total_rows])).toEqual([
      ['reindexPosts batch done', 1, 2, 2],
      ['reindexPosts batch done', 2, 2, 4],
      ['reindexPosts finished', 3, 1, 5],
    ]);
    expect(progress.every((e) => typeof e.rows_per_s === 'number')).toBe(true);

    // A batch run twice (its ack lost) publishes the same successor id: JetStream drops it.
    const again = await harness.js.publish(
      'axumkit.jobs.reindex.posts',
      JSON.stringify({ reindex_id: reindexId, after_id: rows[1]!.id, batch_size: 2 }),
      { msgID: `${reindexId}:${rows[1]!.id}` },
    );
    expect(again.duplicate).toBe(true);
  });
});
