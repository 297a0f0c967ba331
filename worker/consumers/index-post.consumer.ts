import { findById } from '../../src/modules/posts/posts.repository.ts';
import { defineConsumer } from '../runner.ts';
import type { ConsumerDependencies } from './dependencies.ts';
import { loadPostDocument } from './search-documents.ts';

export function createIndexPostConsumer({
  db,
  storage,
  search,
}: Pick<ConsumerDependencies, 'db' | 'storage' | 'search'>) {
  return defineConsumer({
    job: 'indexPost',
    async handle({ post_id, action }, ctx) {
      if (action === 'delete') return search.deletePost(post_id);
      // The primary: the job is published right after the commit, before a replica may have it.
      const post = await findById(db.write, post_id);
      // Deleted since the job was enqueued: the search copy must go as well.
      if (!post) return search.deletePost(post_id);
      await search.indexPost(await loadPostDocument(storage, post, ctx.logger));
    },
  });
}
