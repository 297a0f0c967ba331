/**
 * The search port. Both engines hold their own copy of the searchable fields, written by the
 * index jobs, so search never reads the content bucket. Every write is an idempotent upsert
 * or delete: a re-run or redelivered job converges on the same state.
 */

export interface PostDocument {
  id: string;
  author_id: string;
  title: string;
  content: string;
  /** Orders concurrent index jobs: an older version never overwrites a newer one. */
  updated_at: Date;
}

export interface UserDocument {
  id: string;
  handle: string;
  display_name: string;
  bio: string | null;
  profile_image_url: string | null;
}

export interface SearchQuery {
  q: string;
  /** 1-based. */
  page: number;
  pageSize: number;
}

export interface PostHit {
  id: string;
  author_id: string;
  title: string;
  /** HTML: the escaped text around the matched terms, each matched term in `<mark>`. */
  snippet: string;
}

export type UserHit = UserDocument;

export interface SearchResult<T> {
  hits: T[];
  total_hits: number;
}

export interface SearchEngine {
  indexPost(doc: PostDocument): Promise<void>;
  deletePost(id: string): Promise<void>;
  indexUser(doc: UserDocument): Promise<void>;
  deleteUser(id: string): Promise<void>;
  searchPosts(query: SearchQuery): Promise<SearchResult<PostHit>>;
  /** An empty q lists every user by handle. */
  searchUsers(query: SearchQuery): Promise<SearchResult<UserHit>>;
  /** Creates indexes and applies their settings; safe to run at every worker start. */
  applySettings(): Promise<void>;
  close(): Promise<void>;
}
