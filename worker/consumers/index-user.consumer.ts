import { findById } from '../../src/modules/users/users.repository.ts';
import { defineConsumer } from '../runner.ts';
import type { ConsumerDependencies } from './dependencies.ts';
import { userDocument } from './search-documents.ts';

export function createIndexUserConsumer({
  db,
  storage,
  search,
}: Pick<ConsumerDependencies, 'db' | 'storage' | 'search'>) {
  return defineConsumer({
    job: 'indexUser',
    async handle({ user_id, action }) {
      if (action === 'delete') return search.deleteUser(user_id);
      // The primary: the job is published right after the commit, before a replica may have it.
      const user = await findById(db.write, user_id);
      if (!user) return search.deleteUser(user_id);
      await search.indexUser(userDocument(storage, user));
    },
  });
}
