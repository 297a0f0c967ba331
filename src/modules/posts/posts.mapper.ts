import type { components } from '../../generated/openapi.ts';
import type { PostListRow, PostWithAuthor } from './posts.repository.ts';

export type Post = components['schemas']['Post'];
export type PostSummary = components['schemas']['PostSummary'];
export type PostAuthor = components['schemas']['PostAuthor'];

export function toPostAuthor(row: PostWithAuthor | PostListRow): PostAuthor {
  return { id: row.author_id, handle: row.author_handle, display_name: row.author_display_name };
}

export function toPost(row: PostWithAuthor, content: string): Post {
  return {
    id: row.id,
    author: toPostAuthor(row),
    title: row.title,
    content,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toPostSummary(row: PostListRow): PostSummary {
  return {
    id: row.id,
    author: toPostAuthor(row),
    title: row.title,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
