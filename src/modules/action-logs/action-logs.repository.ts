import type { ActionLogRow } from '../../shared/db/rows.ts';
import { newId } from '../../shared/db/ids.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import type { ActionLogFilter } from './action-logs.filter.ts';

export type NewActionLog = Omit<ActionLogRow, 'id' | 'created_at' | 'metadata' | 'position'> & {
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

/** An entry's place in the event stream, once it has committed. */
export async function findActionLogPosition(
  executor: Executor,
  id: string,
): Promise<bigint | null> {
  const row = await executor<ActionLogRow>('action_logs').where({ id }).first('position');
  return row?.position == null ? null : BigInt(row.position);
}

/**
 * Where a stream resumes for a Last-Event-ID: after that entry. For one no longer stored
 * (retention deleted it), after the lower of its neighbours' places, as an older one may have
 * committed after it: an entry sent twice rather than one lost. From the start when there is
 * none.
 */
export async function resumePosition(executor: Executor, lastEventId: string): Promise<bigint> {
  const { rows } = await executor.raw<{ rows: { position: string | null }[] }>(
    `select coalesce(
       (select position from action_logs where id = :id),
       least(
         (select position from action_logs
           where id < :id and position is not null order by id desc limit 1),
         (select position - 1 from action_logs
           where id > :id and position is not null order by id limit 1)),
       0)::text as position`,
    { id: lastEventId },
  );
  return BigInt(rows[0]!.position!);
}

/** Rows after `position` in stream order, oldest first: what a reconnecting stream missed. */
export async function findActionLogsAfterPosition(
  executor: Executor,
  filter: ActionLogFilter,
  position: bigint,
  limit: number,
): Promise<ActionLogRow[]> {
  return filtered(executor, filter)
    .where('position', '>', position.toString())
    .orderBy('position', 'asc')
    .limit(limit);
}

/** Every row from position `from` up to, not including, `to`, in stream order. */
export async function findActionLogsBetweenPositions(
  executor: Executor,
  from: bigint,
  to: bigint,
): Promise<ActionLogRow[]> {
  return executor<ActionLogRow>('action_logs')
    .where('position', '>=', from.toString())
    .where('position', '<', to.toString())
    .orderBy('position', 'asc');
}

/** The stream's last position so far; 0 when nothing has committed. */
export async function lastActionLogPosition(executor: Executor): Promise<bigint> {
  const row = await executor<ActionLogRow>('action_logs')
    .max<{ max: string | null }>('position as max')
    .first();
  return row?.max == null ? 0n : BigInt(row.max);
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
