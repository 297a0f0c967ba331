import type { Executor } from '../../shared/db/transaction.ts';
import type { PostRow } from '../../shared/db/rows.ts';

/** A post row with the author fields every answer shows. */
export type PostWithAuthor = PostRow & { author_handle: string; author_display_name: string };

/** A listing row: no content, plus its creation time in microseconds for the next cursor. */
export type PostListRow = Omit<PostWithAuthor, 'storage_key'> & { created_micros: string };

export type NewPost = Pick<PostRow, 'id' | 'author_id' | 'title' | 'storage_key'>;

const WITH_AUTHOR = [
  'posts.*',
  'users.handle as author_handle',
  'users.display_name as author_display_name',
];

export async function findById(executor: Executor, id: string): Promise<PostRow | undefined> {
  return executor<PostRow>('posts').where({ id }).first();
}

export async function findWithAuthor(
  executor: Executor,
  id: string,
): Promise<PostWithAuthor | undefined> {
  return executor('posts')
    .join('users', 'users.id', 'posts.author_id')
    .where('posts.id', id)
    .first<PostWithAuthor | undefined>(WITH_AUTHOR);
}

/** Locks the row for the rest of the transaction, so an edit and a delete cannot interleave. */
export async function findForUpdate(executor: Executor, id: string): Promise<PostRow | undefined> {
  return executor<PostRow>('posts').where({ id }).forUpdate().first();
}

export async function insertPost(executor: Executor, post: NewPost): Promise<PostRow> {
  const [row] = await executor<PostRow>('posts').insert(post).returning('*');
  return row!;
}

/** Bumps updated_at even when only the body (which lives in the content store) changed. */
export async function updatePost(
  executor: Executor,
  id: string,
  changes: Partial<Pick<PostRow, 'title'>>,
): Promise<PostRow> {
  const [row] = await executor<PostRow>('posts')
    .where({ id })
    .update({ ...changes, updated_at: executor.fn.now() })
    .returning('*');
  return row!;
}

export async function deletePost(executor: Executor, id: string): Promise<void> {
  await executor('posts').where({ id }).delete();
}

export interface PostPageQuery {
  authorId: string | undefined;
  /** The last post of the previous page, as an exact ISO timestamp and id; null for the first page. */
  before: { createdAt: string; id: string } | null;
  limit: number;
}

/** Newest first on the (created_at desc, id desc) indexes: one short index scan at any depth. */
export async function listPage(executor: Executor, page: PostPageQuery): Promise<PostListRow[]> {
  const query = executor('posts')
    .join('users', 'users.id', 'posts.author_id')
    .select(
      'posts.id',
      'posts.author_id',
      'posts.title',
      'posts.created_at',
      'posts.updated_at',
      'users.handle as author_handle',
      'users.display_name as author_display_name',
      // A Date keeps milliseconds only; the cursor needs PostgreSQL's microseconds.
      executor.raw(
        '(extract(epoch from posts.created_at) * 1000000)::bigint::text as created_micros',
      ),
    )
    .orderBy([
      { column: 'posts.created_at', order: 'desc' },
      { column: 'posts.id', order: 'desc' },
    ])
    .limit(page.limit);
  if (page.authorId !== undefined) query.where('posts.author_id', page.authorId);
  if (page.before !== null) {
    query.whereRaw('(posts.created_at, posts.id) < (?::timestamptz, ?::uuid)', [
      page.before.createdAt,
      page.before.id,
    ]);
  }
  return query;
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
