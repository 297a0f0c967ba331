import type { Knex } from 'knex';
import type { UserRow } from '../../shared/db/rows.ts';
import type { Executor } from '../../shared/db/transaction.ts';

export type ImageColumn = 'profile_image' | 'banner_image';

/**
 * The advisory-lock namespace of public-bucket image keys. Whoever writes an object and the
 * row naming it, and whoever checks a key for references and deletes its object, holds the
 * key's lock: content addressing makes two users share one key, and without the lock a
 * release could delete an object another user's upload has just written but not committed.
 */
export const IMAGE_KEY_LOCK_SPACE = 7_110_001;

/** Held until the transaction ends; hashtext collisions only make two keys wait for each other. */
export async function lockImageKey(trx: Knex.Transaction, key: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?, hashtext(?))', [IMAGE_KEY_LOCK_SPACE, key]);
}

/** Locks many keys in one round trip, in key order, so overlapping batches cannot deadlock. */
export async function lockImageKeys(trx: Knex.Transaction, keys: readonly string[]): Promise<void> {
  await trx.raw(
    'select pg_advisory_xact_lock(?, hashtext(key)) from (select unnest(?::text[]) as key order by 1) keys',
    [IMAGE_KEY_LOCK_SPACE, [...keys]],
  );
}

/** The user's image columns, locking the row so concurrent replaces take turns. */
export async function lockUserImages(
  trx: Knex.Transaction,
  userId: string,
): Promise<Pick<UserRow, ImageColumn> | undefined> {
  return trx<UserRow>('users')
    .where({ id: userId })
    .forUpdate()
    .first('profile_image', 'banner_image');
}

export async function setUserImage(
  executor: Executor,
  userId: string,
  column: ImageColumn,
  key: string | null,
): Promise<void> {
  await executor('users')
    .where({ id: userId })
    .update({ [column]: key, updated_at: executor.fn.now() });
}

/** Whether any user has `key` as profile or banner image (both columns are indexed). */
export async function isImageReferenced(executor: Executor, key: string): Promise<boolean> {
  const row: unknown = await executor('users')
    .where({ profile_image: key })
    .orWhere({ banner_image: key })
    .first(executor.raw('1 as found'));
  return row !== undefined;
}
