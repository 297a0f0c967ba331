import { listAfterId } from '../../src/modules/users/users.repository.ts';
import { defineConsumer } from '../runner.ts';
import type { ConsumerDependencies } from './dependencies.ts';
import { runReindexBatch } from './reindex-batch.ts';
import { userDocument } from './search-documents.ts';

export function createReindexUsersConsumer({ db, storage, search, nats }: ConsumerDependencies) {
  const js = nats.jetstream();
  return defineConsumer({
    job: 'reindexUsers',
    handle: (payload, ctx) =>
      runReindexBatch({
        job: 'reindexUsers',
        payload,
        ctx,
        js,
        // The replica: a bulk walk tolerates lag, and a later index job corrects a stale row.
        list: (afterId, limit) => listAfterId(db.read, afterId, limit),
        indexRow: (user) => search.indexUser(userDocument(storage, user)),
      }),
  });
}
