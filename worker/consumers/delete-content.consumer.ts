import { defineConsumer } from '../runner.ts';
import type { ConsumerDependencies } from './dependencies.ts';

export function createDeleteContentConsumer({ storage }: Pick<ConsumerDependencies, 'storage'>) {
  return defineConsumer({
    job: 'deleteContent',
    // Deleting a missing key succeeds, so a rerun after a partial delete converges.
    async handle({ storage_keys }) {
      await storage.content.deleteMany(storage_keys);
    },
  });
}
