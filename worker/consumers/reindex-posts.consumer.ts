import { listAfterId } from '../../src/modules/posts/posts.repository.ts';
import { defineConsumer } from '../runner.ts';
import type { ConsumerDependencies } from './dependencies.ts';
import { runReindexBatch } from './reindex-batch.ts';
import { loadPostDocument } from './search-documents.ts';

export function createReindexPostsConsumer({ db, storage, search, nats }: ConsumerDependencies) {
  const js = nats.jetstream();
  return defineConsumer({
    job: 'reindexPosts',
    handle: (payload, ctx) =>
      runReindexBatch({
        job: 'reindexPosts',
        payload,
        ctx,
        js,
        // The replica: a bulk walk tolerates lag, and the engine keeps the newer of two versions.
        list: (afterId, limit) => listAfterId(db.read, afterId, limit),
        indexRow: async (post) =>
          search.indexPost(await loadPostDocument(storage, post, ctx.logger)),
      }),
  });
}
