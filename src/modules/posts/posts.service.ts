import type { Knex } from 'knex';
import { enqueueJob } from '../../bridge/outbox.ts';
import type { Dependencies } from '../../dependencies.ts';
import { storageKeys } from '../../shared/constants/storage-keys.ts';
import { newId } from '../../shared/db/ids.ts';
import type { PostRow } from '../../shared/db/rows.ts';
import { withTransaction } from '../../shared/db/transaction.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { recordAction } from '../action-logs/action-logs.recorder.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import type { UserSnapshot } from '../users/user-snapshot.ts';
import { createPostCache, type CachedPost } from './posts.cache.ts';
import { createPostCursors, microsToIso } from './posts.cursor.ts';
import { toPost, toPostSummary, type Post, type PostSummary } from './posts.mapper.ts';
import {
  deletePost,
  findForUpdate,
  findWithAuthor,
  insertPost,
  listPage,
  updatePost,
  type PostWithAuthor,
} from './posts.repository.ts';

type PostsDependencies = Pick<
  Dependencies,
  'db' | 'redis' | 'storage' | 'nats' | 'logger' | 'config'
>;

/** Who acts and from where: the action log records both. */
export interface PostActor {
  user: Pick<UserSnapshot, 'id' | 'handle' | 'display_name' | 'verified_at'>;
  ip: string | null;
}

export interface PostPage {
  posts: PostSummary[];
  next_cursor: string | null;
}

const CONTENT_TYPE = 'text/plain; charset=utf-8';

const postNotFound = () => new AppError('post:not_found', 'Post not found');
const notAuthor = () =>
  new AppError('user:permission_insufficient', 'Only the author may change this post');
const storeUnavailable = (cause: unknown) =>
  new AppError('system:dependency_unavailable', 'The content store is unavailable', { cause });

export function createPostsService(deps: PostsDependencies) {
  const cache = createPostCache(deps);
  const authors = createUserSnapshotCache(deps);
  const cursors = createPostCursors(deps.config.session.secret);

  async function putContent(key: string, content: string): Promise<void> {
    try {
      await deps.storage.content.put(key, content, CONTENT_TYPE);
    } catch (error) {
      throw storeUnavailable(error);
    }
  }

  /**
   * The body of a post whose row exists. Bodies are written before their row commits and
   * deleted only after it is gone, so a missing one is damage, not a race: it is logged
   * with what an operator needs and answered as an internal error, never crashed on.
   */
  async function loadContent(post: PostRow): Promise<string> {
    let body: Buffer | undefined;
    try {
      body = await deps.storage.content.get(post.storage_key);
    } catch (error) {
      throw storeUnavailable(error);
    }
    if (body === undefined) {
      deps.logger.error('post content is missing from the content store', {
        post_id: post.id,
        storage_key: post.storage_key,
      });
      throw new AppError('system:internal_error', `The content of post ${post.id} is missing`);
    }
    return body.toString('utf8');
  }

  /** Locks the post and checks that the actor wrote it. */
  async function lockOwnPost(trx: Knex.Transaction, postId: string, actor: PostActor) {
    const post = await findForUpdate(trx, postId);
    if (!post) throw postNotFound();
    if (post.author_id !== actor.user.id) throw notAuthor();
    return post;
  }

  const withAuthor = (row: PostRow, actor: PostActor): PostWithAuthor => ({
    ...row,
    author_handle: actor.user.handle,
    author_display_name: actor.user.display_name,
  });

  const toCached = (row: PostRow, content: string): CachedPost => ({
    id: row.id,
    author_id: row.author_id,
    title: row.title,
    content,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  });

  return {
    /**
     * The body goes to the content store inside the transaction, before the row commits: a
     * failed write rolls the row back, and a row never points at a body that was not stored.
     * (A commit that fails after the write leaves a blob without a row, which the orphan-blob
     * cron removes.)
     */
    async create(actor: PostActor, input: { title: string; content: string }): Promise<Post> {
      if (actor.user.verified_at === null) {
        throw new AppError('auth:email_not_verified', 'Verify your email address to post');
      }
      const id = newId();
      const row = await withTransaction(deps.db.write, async (trx) => {
        const created = await insertPost(trx, {
          id,
          author_id: actor.user.id,
          title: input.title,
          storage_key: storageKeys.postContent(id),
        });
        await recordAction(deps, trx, {
          action: 'post:create',
          actor_id: actor.user.id,
          actor_ip: actor.ip,
          resource_type: 'post',
          resource_id: id,
          summary: `Created the post "${input.title}"`,
        });
        await enqueueJob(trx, 'indexPost', { post_id: id, action: 'index' });
        await putContent(created.storage_key, input.content);
        return created;
      });
      return toPost(withAuthor(row, actor), input.content);
    },

    async list(query: { limit: number; cursor?: string; author_id?: string }): Promise<PostPage> {
      const authorId = query.author_id;
      const after = query.cursor === undefined ? null : cursors.decode(query.cursor, authorId);
      // One row more than asked tells whether a next page exists without a count.
      const rows = await listPage(deps.db.read, {
        authorId,
        before: after && { createdAt: microsToIso(after.createdMicros), id: after.id },
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        posts: page.map(toPostSummary),
        next_cursor:
          rows.length > query.limit && last
            ? cursors.encode({ createdMicros: BigInt(last.created_micros), id: last.id }, authorId)
            : null,
      };
    },

    async get(postId: string): Promise<Post> {
      const { post: cached, fillable } = await cache.lookup(postId);
      if (cached) {
        const author = await authors.get(cached.author_id);
        // The author is gone, and their posts with them (on delete cascade).
        if (!author) throw postNotFound();
        return {
          id: cached.id,
          author: { id: author.id, handle: author.handle, display_name: author.display_name },
          title: cached.title,
          content: cached.content,
          created_at: cached.created_at,
          updated_at: cached.updated_at,
        };
      }
      // The primary: a read after an edit's response must see the edit.
      const row = await findWithAuthor(deps.db.write, postId);
      if (!row) throw postNotFound();
      const content = await loadContent(row);
      if (fillable) await cache.fill(toCached(row, content));
      return toPost(row, content);
    },

    /**
     * The new body overwrites the old one inside the transaction, after the row is locked
     * and the author checked, so a refused or failed edit leaves the body as it was.
     */
    async update(
      actor: PostActor,
      postId: string,
      changes: { title?: string; content?: string },
    ): Promise<Post> {
      const { row, content } = await withTransaction(deps.db.write, async (trx) => {
        const post = await lockOwnPost(trx, postId, actor);
        const updated = await updatePost(
          trx,
          postId,
          changes.title === undefined ? {} : { title: changes.title },
        );
        await recordAction(deps, trx, {
          action: 'post:edit',
          actor_id: actor.user.id,
          actor_ip: actor.ip,
          resource_type: 'post',
          resource_id: postId,
          summary: `Edited the post "${updated.title}"`,
          metadata: { fields: Object.keys(changes).sort() },
        });
        await enqueueJob(trx, 'indexPost', { post_id: postId, action: 'index' });
        if (changes.content === undefined) {
          return { row: updated, content: await loadContent(post) };
        }
        await putContent(post.storage_key, changes.content);
        return { row: updated, content: changes.content };
      });
      await cache.invalidate(postId);
      return toPost(withAuthor(row, actor), content);
    },

    /** The body is deleted by a job queued with the row's removal, so it never outlives a commit. */
    async delete(actor: PostActor, postId: string): Promise<void> {
      await withTransaction(deps.db.write, async (trx) => {
        const post = await lockOwnPost(trx, postId, actor);
        await deletePost(trx, postId);
        await recordAction(deps, trx, {
          action: 'post:delete',
          actor_id: actor.user.id,
          actor_ip: actor.ip,
          resource_type: 'post',
          resource_id: postId,
          summary: `Deleted the post "${post.title}"`,
        });
        await enqueueJob(trx, 'deleteContent', { storage_keys: [post.storage_key] });
        await enqueueJob(trx, 'indexPost', { post_id: postId, action: 'delete' });
      });
      await cache.invalidate(postId);
    },
  };
}

export type PostsService = ReturnType<typeof createPostsService>;
