import { downloadAvatar, type AvatarHostPolicy } from '../../src/modules/oauth/oauth.avatar.ts';
import { findById } from '../../src/modules/users/users.repository.ts';
import { isAppError } from '../../src/shared/errors/app-error.ts';
import { defineConsumer } from '../runner.ts';
import type { ConsumerDependencies } from './dependencies.ts';

/**
 * The image pipeline's entry for a profile image that arrives as bytes: it validates,
 * re-encodes and stores the image and sets it as the user's profile image unless the user has
 * one by then (checked under the row lock; false when it did not), throwing
 * file:unsupported_type or file:invalid_image for what it refuses.
 */
export type ProfileImageImporter = (userId: string, image: Buffer) => Promise<boolean>;

/** The profile image upload limit (SPEC §7). */
const AVATAR_MAX_BYTES = 4 * 1024 * 1024;
const AVATAR_TIMEOUT_MS = 10_000;

/**
 * Turns a new OAuth account's provider avatar into its profile image. The account exists
 * whatever happens here: an avatar that is gone, too large or not an image leaves it without
 * a picture, and a host that fails is retried, then dead-lettered.
 */
export function createImportAvatarConsumer({
  db,
  policy,
  importProfileImage,
}: Pick<ConsumerDependencies, 'db'> & {
  policy: AvatarHostPolicy;
  importProfileImage: ProfileImageImporter;
}) {
  return defineConsumer({
    job: 'importAvatar',
    async handle({ user_id, url }, ctx) {
      // The primary: the job is published right after the sign-up commits.
      const user = await findById(db.write, user_id);
      // Deleted, or a picture the owner uploaded before the job ran, which wins. This only
      // saves the download: one uploaded during it is kept by the importer's own check.
      if (!user || user.profile_image !== null) return;
      const avatar = await downloadAvatar(url, {
        timeoutMs: AVATAR_TIMEOUT_MS,
        maxBytes: AVATAR_MAX_BYTES,
        policy,
      });
      if (avatar.kind === 'unavailable') {
        ctx.logger.warn('provider avatar not imported', { user_id, reason: avatar.reason });
        return;
      }
      try {
        if (!(await importProfileImage(user_id, avatar.bytes))) {
          ctx.logger.info('provider avatar not imported', {
            user_id,
            reason: 'image set meanwhile',
          });
        }
      } catch (error) {
        // The pipeline refused the file (not an image, a decompression bomb): the same bytes
        // would be refused on every retry.
        if (!isAppError(error) || error.status >= 500) throw error;
        ctx.logger.warn('provider avatar not imported', { user_id, reason: error.code });
      }
    },
  });
}
