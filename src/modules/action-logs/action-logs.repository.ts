import type { ActionLogRow } from '../../shared/db/rows.ts';
import { newId } from '../../shared/db/ids.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import type { ActionLogFilter } from './action-logs.filter.ts';

export type NewActionLog = Omit<ActionLogRow, 'id' | 'created_at' | 'metadata'> & {
  metadata?: Record<string, unknown>;
};

/** Called inside the transaction of the change it records; the row comes back for publishing. */
export async function insertActionLog(
  executor: Executor,
  entry: NewActionLog,
): Promise<ActionLogRow> {
  const [row] = await executor<ActionLogRow>('action_logs')
    .insert({ id: newId(), ...entry, metadata: entry.metadata ?? {} })
    .returning('*');
  return row!;
}

// The filter's fields are column names, and an absent field is no condition.
const filtered = (executor: Executor, filter: ActionLogFilter) =>
  executor<ActionLogRow>('action_logs').where(filter);

/** Rows after `afterId` in id order, oldest first: what a reconnecting stream missed. */
export async function findActionLogsAfter(
  executor: Executor,
  filter: ActionLogFilter,
  afterId: string,
  limit: number,
): Promise<ActionLogRow[]> {
  return filtered(executor, filter).where('id', '>', afterId).orderBy('id', 'asc').limit(limit);
}

/**
 * Up to `limit` rows on one side of `cursor` (none: from the newest), nearest first: newest
 * first when reading older, oldest first when reading newer.
 */
export async function findActionLogsBeside(
  executor: Executor,
  filter: ActionLogFilter,
  side: { cursor: string | undefined; direction: 'older' | 'newer' },
  limit: number,
): Promise<ActionLogRow[]> {
  const query = filtered(executor, filter);
  if (side.cursor !== undefined) {
    query.where('id', side.direction === 'older' ? '<' : '>', side.cursor);
  }
  return query.orderBy('id', side.direction === 'older' ? 'desc' : 'asc').limit(limit);
}

/** Whether any row lies beyond `id` (or at it, when inclusive) on that side: one index probe. */
export async function hasActionLogBeyond(
  executor: Executor,
  filter: ActionLogFilter,
  id: string,
  direction: 'older' | 'newer',
  inclusive: boolean,
): Promise<boolean> {
  const operator = (direction === 'older' ? '<' : '>') + (inclusive ? '=' : '');
  const row = await filtered(executor, filter).where('id', operator, id).first('id');
  return row !== undefined;
}
