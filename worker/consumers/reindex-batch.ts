import { headers, type JetStreamClient } from 'nats';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import type { JobPayload } from '../../src/shared/jobs/payloads.ts';
import type { ConsumerContext } from '../runner.ts';

type ReindexJob = 'reindexPosts' | 'reindexUsers';

/** Progress rides from batch to batch in headers, so the logs need no state outside the messages. */
export const reindexHeaders = {
  batch: 'Reindex-Batch',
  rows: 'Reindex-Rows',
  startedAt: 'Reindex-Started-At',
} as const;

// Per-row work reads the content store; a few at a time keeps a batch short without a burst.
const ROW_CONCURRENCY = 8;

function headerInt(ctx: ConsumerContext, name: string): number | undefined {
  const value = Number(ctx.header(name));
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

const perSecond = (rows: number, ms: number) => Math.round((rows * 1000) / Math.max(ms, 1));

/**
 * One batch of a reindex: index the rows after `after_id`, then enqueue the next batch. The
 * next message's id is `<reindex_id>:<last_id>`, so a batch that runs twice (its ack lost)
 * enqueues its successor only once.
 */
export async function runReindexBatch<Row extends { id: string }>(options: {
  job: ReindexJob;
  payload: JobPayload<ReindexJob>;
  ctx: ConsumerContext;
  js: JetStreamClient;
  list(afterId: string | null, limit: number): Promise<Row[]>;
  indexRow(row: Row): Promise<void>;
}): Promise<void> {
  const { job, payload, ctx } = options;
  const started = Date.now();
  const batch = headerInt(ctx, reindexHeaders.batch) ?? 1;
  const startedAt = headerInt(ctx, reindexHeaders.startedAt) ?? started;

  const rows = await options.list(payload.after_id, payload.batch_size);
  for (let i = 0; i < rows.length; i += ROW_CONCURRENCY) {
    await Promise.all(rows.slice(i, i + ROW_CONCURRENCY).map((row) => options.indexRow(row)));
  }

  const totalRows = (headerInt(ctx, reindexHeaders.rows) ?? 0) + rows.length;
  const now = Date.now();
  const progress = {
    reindex_id: payload.reindex_id,
    batch,
    rows: rows.length,
    total_rows: totalRows,
    rows_per_s: perSecond(rows.length, now - started),
  };
  const last = rows.at(-1);
  if (!last || rows.length < payload.batch_size) {
    ctx.logger.info(`${job} finished`, {
      ...progress,
      overall_rows_per_s: perSecond(totalRows, now - startedAt),
    });
    return;
  }
  ctx.logger.info(`${job} batch done`, progress);

  const next: JobPayload<ReindexJob> = { ...payload, after_id: last.id };
  const h = headers();
  h.set(reindexHeaders.batch, String(batch + 1));
  h.set(reindexHeaders.rows, String(totalRows));
  h.set(reindexHeaders.startedAt, String(startedAt));
  await options.js.publish(jobStreams[job].subject, JSON.stringify(next), {
    msgID: `${payload.reindex_id}:${last.id}`,
    headers: h,
  });
}
