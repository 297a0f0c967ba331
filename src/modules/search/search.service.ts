import type { Dependencies } from '../../dependencies.ts';
import type {
  PostHit,
  SearchQuery,
  SearchResult,
  UserHit,
} from '../../shared/clients/search/search-engine.ts';
import { AppError } from '../../shared/errors/app-error.ts';

export interface SearchPage<T> {
  hits: T[];
  page: number;
  page_size: number;
  total_hits: number;
  total_pages: number;
}

export type SearchService = ReturnType<typeof createSearchService>;

/**
 * Whichever engine is configured, a failure to answer is the engine's, not the caller's: it
 * answers 502 and never a generic 500 or a database error, so clients can tell it apart.
 */
async function ask<T>(
  query: SearchQuery,
  run: (query: SearchQuery) => Promise<SearchResult<T>>,
): Promise<SearchPage<T>> {
  let result: SearchResult<T>;
  try {
    result = await run(query);
  } catch (error) {
    throw new AppError('search:query_failed', 'The search engine did not answer', {
      cause: error,
    });
  }
  return {
    hits: result.hits,
    page: query.page,
    page_size: query.pageSize,
    total_hits: result.total_hits,
    total_pages: Math.ceil(result.total_hits / query.pageSize),
  };
}

export function createSearchService({ search }: Pick<Dependencies, 'search'>) {
  return {
    searchPosts: (query: SearchQuery): Promise<SearchPage<PostHit>> =>
      ask(query, (q) => search.searchPosts(q)),
    searchUsers: (query: SearchQuery): Promise<SearchPage<UserHit>> =>
      ask(query, (q) => search.searchUsers(q)),
  };
}
