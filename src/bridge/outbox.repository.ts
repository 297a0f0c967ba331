import type { Knex } from 'knex';
import type { Executor } from '../shared/db/transaction.ts';

export interface NewOutboxRow {
  id: string;
  subject: string;
  payload: unknown;
}

export interface PendingOutboxRow {
  id: string;
  subject: string;
  /** The stored JSON text, published as is: no parse and re-serialise per message. */
  payload: string;
}

export async function createOutboxRow(db: Executor, row: NewOutboxRow): Promise<void> {
  // Serialised here: pg would turn a top-level array into a PostgreSQL array literal.
  await db('outbox').insert({ ...row, payload: JSON.stringify(row.payload) });
}

/**
 * Locks up to `limit` unsent rows, oldest first. SKIP LOCKED lets several relays share the
 * table: each takes rows no other transaction holds, so none waits and none sends a row twice.
 */
export async function claimPendingOutboxRows(
  trx: Knex.Transaction,
  limit: number,
): Promise<PendingOutboxRow[]> {
  return trx('outbox')
    .select('id', 'subject', trx.raw('payload::text as payload'))
    .whereNull('sent_at')
    .orderBy('created_at')
    .limit(limit)
    .forUpdate()
    .skipLocked();
}

export async function markOutboxRowsSent(trx: Knex.Transaction, ids: string[]): Promise<void> {
  await trx('outbox')
    .whereIn('id', ids)
    .update({ sent_at: trx.raw('clock_timestamp()') });
}

/** Seconds since the oldest unsent row was written; 0 when nothing waits. */
export async function oldestPendingOutboxAgeSeconds(db: Executor): Promise<number> {
  const row = await db('outbox')
    .whereNull('sent_at')
    .first<{ age: number | null } | undefined>(
      db.raw('extract(epoch from clock_timestamp() - min(created_at))::float8 as age'),
    );
  return Math.max(0, row?.age ?? 0);
}

/**
 * Deletes at most `limit` rows sent before `before` and returns how many went; the caller
 * repeats until fewer than `limit` go, so no single statement holds locks for long.
 */
export async function deleteSentOutboxRowsBefore(
  db: Executor,
  before: Date,
  limit: number,
): Promise<number> {
  return db('outbox')
    .whereIn('id', db('outbox').select('id').where('sent_at', '<', before).limit(limit))
    .delete();
}
