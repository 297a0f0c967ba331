import type { Storage } from '../../src/shared/clients/s3.ts';
import type { PostDocument, UserDocument } from '../../src/shared/clients/search/search-engine.ts';
import type { PostRow, UserRow } from '../../src/shared/db/rows.ts';
import type { Logger } from '../../src/shared/logger.ts';

/**
 * A post's search document: its row plus the body from the content store. A missing body is
 * reported and indexed as empty (the title stays searchable) rather than failing the job
 * into the dead-letter stream over data that no retry can bring back.
 */
export async function loadPostDocument(
  storage: Storage,
  post: PostRow,
  logger: Logger,
): Promise<PostDocument> {
  const body = await storage.content.get(post.storage_key);
  if (!body) logger.warn('post content is missing from the content store', { post_id: post.id });
  return {
    id: post.id,
    author_id: post.author_id,
    title: post.title,
    content: body?.toString('utf8') ?? '',
    updated_at: post.updated_at,
  };
}

export function userDocument(storage: Storage, user: UserRow): UserDocument {
  return {
    id: user.id,
    handle: user.handle,
    display_name: user.display_name,
    bio: user.bio,
    profile_image_url: storage.public.publicUrl(user.profile_image),
  };
}
