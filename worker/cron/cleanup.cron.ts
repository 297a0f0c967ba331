import { enqueueJob } from '../../src/bridge/outbox.ts';
import { deleteSentOutboxRowsBefore } from '../../src/bridge/outbox.repository.ts';
import { withTransaction } from '../../src/shared/db/transaction.ts';
import {
  deleteActionLogsCreatedBefore,
  deleteUnverifiedUsersCreatedBefore,
} from './cleanup.repository.ts';
import { defineCronJob, type CronDependencies, type CronSummary } from './cron-job.ts';

const DAY_MS = 86_400_000;
const UNVERIFIED_USER_MAX_AGE_DAYS = 7;
const SENT_OUTBOX_MAX_AGE_DAYS = 1;
const BATCH_SIZE = 1000;

export interface CleanupOptions {
  batchSize?: number;
  signal?: AbortSignal;
}

/** Deletes expired rows table by table; a run cut short resumes where it stopped next time. */
export async function runCleanup(
  deps: Pick<CronDependencies, 'db' | 'config'>,
  options: CleanupOptions = {},
): Promise<CronSummary> {
  const db = deps.db.write;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const now = Date.now();
  const daysAgo = (days: number) => new Date(now - days * DAY_MS);
  const drain = (deleteBatch: (limit: number) => Promise<number>) =>
    deleteInBatches(deleteBatch, batchSize, options.signal);

  // Sign-up indexes the user for search, so each deleted account takes an index delete job
  // with it, in the same transaction. (Unverified users cannot post: no posts cascade.)
  const unverifiedUsers = await drain((limit) =>
    withTransaction(db, async (trx) => {
      const ids = await deleteUnverifiedUsersCreatedBefore(
        trx,
        daysAgo(UNVERIFIED_USER_MAX_AGE_DAYS),
        limit,
      );
      for (const id of ids) await enqueueJob(trx, 'indexUser', { user_id: id, action: 'delete' });
      return ids.length;
    }),
  );
  const actionLogs = await drain((limit) =>
    deleteActionLogsCreatedBefore(db, daysAgo(deps.config.actionLogRetentionDays), limit),
  );
  const outboxRows = await drain((limit) =>
    deleteSentOutboxRowsBefore(db, daysAgo(SENT_OUTBOX_MAX_AGE_DAYS), limit),
  );
  return {
    unverified_users: unverifiedUsers,
    action_logs: actionLogs,
    outbox_rows: outboxRows,
  };
}

async function deleteInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  batchSize: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    const deleted = await deleteBatch(batchSize);
    total += deleted;
    // A short batch means the backlog is gone (or only rows locked elsewhere remain).
    if (deleted < batchSize) return total;
  }
}

export const cleanupCronJob = defineCronJob({
  name: 'cleanup',
  schedule: (config) => config.cron.schedules.cleanup,
  run: ({ deps, signal }) => runCleanup(deps, { signal }),
});
