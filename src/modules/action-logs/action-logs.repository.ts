import type { ActionLogRow } from '../../shared/db/rows.ts';
import { newId } from '../../shared/db/ids.ts';
import type { Executor } from '../../shared/db/transaction.ts';

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
