import type { Executor } from '../../shared/db/transaction.ts';
import type { UserRow } from '../../shared/db/rows.ts';

export async function findById(executor: Executor, id: string): Promise<UserRow | undefined> {
  return executor<UserRow>('users').where({ id }).first();
}

/** Emails are stored lowercased, but the lookup goes through lower() to use the unique index. */
export async function findByEmail(executor: Executor, email: string): Promise<UserRow | undefined> {
  return executor<UserRow>('users')
    .whereRaw('lower(email) = ?', [email.trim().toLowerCase()])
    .first();
}

export async function existsById(executor: Executor, id: string): Promise<boolean> {
  const row: unknown = await executor('users').where({ id }).first(executor.raw('1 as found'));
  return row !== undefined;
}

/** Keyset walk in id order (UUIDv7, so creation order); a null afterId starts from the first user. */
export async function listAfterId(
  executor: Executor,
  afterId: string | null,
  limit: number,
): Promise<UserRow[]> {
  const query = executor<UserRow>('users').orderBy('id').limit(limit);
  if (afterId !== null) query.where('id', '>', afterId);
  return query;
}
