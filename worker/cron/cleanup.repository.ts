import type { Executor } from '../../src/shared/db/transaction.ts';

/*
 * Each statement deletes at most `limit` rows picked through the age index, so a backlog of
 * millions is removed in short transactions that never hold many row locks at once. SKIP
 * LOCKED leaves rows another transaction is touching for the next run.
 */

/** Returns the deleted ids: their search documents must go too. */
export async function deleteUnverifiedUsersCreatedBefore(
  db: Executor,
  cutoff: Date,
  limit: number,
): Promise<string[]> {
  const result = await db.raw<{ rows: Array<{ id: string }> }>(
    `delete from users where id in (
       select id from users
       where verified_at is null and created_at < ?
       order by created_at
       limit ?
       for update skip locked)
     returning id`,
    [cutoff, limit],
  );
  return result.rows.map((row) => row.id);
}

export async function deleteActionLogsCreatedBefore(
  db: Executor,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const result = await db.raw<{ rowCount: number }>(
    `delete from action_logs where id in (
       select id from action_logs
       where created_at < ?
       order by created_at
       limit ?
       for update skip locked)`,
    [cutoff, limit],
  );
  return result.rowCount;
}
