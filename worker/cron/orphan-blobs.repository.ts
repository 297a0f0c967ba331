import type { PostRow, UserRow } from '../../src/shared/db/rows.ts';
import type { Executor } from '../../src/shared/db/transaction.ts';

/** The subset of `keys` some post stores its body under (posts.storage_key is unique). */
export async function findPostStorageKeys(
  db: Executor,
  keys: readonly string[],
): Promise<Set<string>> {
  const rows = await db<PostRow>('posts').select('storage_key').whereIn('storage_key', keys);
  return new Set(rows.map((row) => row.storage_key));
}

/** The subset of `keys` some user has as profile or banner image (both columns are indexed). */
export async function findUserImageKeys(
  db: Executor,
  keys: readonly string[],
): Promise<Set<string>> {
  const rows = await db<UserRow>('users')
    .select('profile_image', 'banner_image')
    .whereIn('profile_image', keys)
    .orWhereIn('banner_image', keys);
  const referenced = new Set<string>();
  for (const row of rows) {
    if (row.profile_image) referenced.add(row.profile_image);
    if (row.banner_image) referenced.add(row.banner_image);
  }
  return referenced;
}
