import type { Executor } from '../../shared/db/transaction.ts';
import type { UserRow } from '../../shared/db/rows.ts';

export async function findById(executor: Executor, id: string): Promise<UserRow | undefined> {
  return executor<UserRow>('users').where({ id }).first();
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
