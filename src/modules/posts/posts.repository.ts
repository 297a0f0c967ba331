import type { Executor } from '../../shared/db/transaction.ts';
import type { PostRow } from '../../shared/db/rows.ts';

export async function findById(executor: Executor, id: string): Promise<PostRow | undefined> {
  return executor<PostRow>('posts').where({ id }).first();
}

/** Keyset walk in id order (UUIDv7, so creation order); a null afterId starts from the first post. */
export async function listAfterId(
  executor: Executor,
  afterId: string | null,
  limit: number,
): Promise<PostRow[]> {
  const query = executor<PostRow>('posts').orderBy('id').limit(limit);
  if (afterId !== null) query.where('id', '>', afterId);
  return query;
}
