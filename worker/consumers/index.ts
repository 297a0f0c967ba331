import { createImageProcessor } from '../../src/modules/users/user-images.processor.ts';
import { createUserImagesService } from '../../src/modules/users/user-images.service.ts';
import type { ConsumerDefinition } from '../runner.ts';
import { createAccountEmailConsumer } from './account-email.consumer.ts';
import { createDeleteContentConsumer } from './delete-content.consumer.ts';
import type { ConsumerDependencies } from './dependencies.ts';
import { createEmailConsumer } from './email.consumer.ts';
import { createImportAvatarConsumer } from './import-avatar.consumer.ts';
import { createIndexPostConsumer } from './index-post.consumer.ts';
import { createIndexUserConsumer } from './index-user.consumer.ts';
import { createReindexPostsConsumer } from './reindex-posts.consumer.ts';
import { createReindexUsersConsumer } from './reindex-users.consumer.ts';

export type { ConsumerDependencies } from './dependencies.ts';

/**
 * Every job consumer the worker runs; `startConsumers` takes this list. Async because the email
 * templates compile here, so a broken one stops the worker at start.
 */
export async function createConsumers(deps: ConsumerDependencies): Promise<ConsumerDefinition[]> {
  const userImages = createUserImagesService(
    { ...deps, redis: { session: deps.redis, cache: deps.cacheRedis } },
    // One image at a time: the worker shares its cores with the other consumers.
    createImageProcessor({ slots: 1 }),
  );
  return [
    await createEmailConsumer(deps),
    await createAccountEmailConsumer(deps),
    createIndexPostConsumer(deps),
    createIndexUserConsumer(deps),
    createReindexPostsConsumer(deps),
    createReindexUsersConsumer(deps),
    createDeleteContentConsumer(deps),
    createImportAvatarConsumer({
      db: deps.db,
      policy: deps.config.avatarImport,
      // No request, so no IP: the action log names the user as the actor.
      importProfileImage: (userId, image) =>
        userImages.uploadIfEmpty({ userId, ip: null }, 'profile', image),
    }),
  ];
}
