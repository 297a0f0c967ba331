import { route } from '../../http/typed-handler.ts';
import type { SearchService } from './search.service.ts';

// The validator applies the contract's defaults; these only satisfy the optional types.
const DEFAULT_PAGE = 1;
const DEFAULT_PAGE_SIZE = 20;

export function searchRoutes(search: SearchService) {
  return [
    route('searchPosts', async ({ query }) => ({
      status: 200,
      body: await search.searchPosts({
        q: query.q,
        page: query.page ?? DEFAULT_PAGE,
        pageSize: query.page_size ?? DEFAULT_PAGE_SIZE,
      }),
    })),

    route('searchUsers', async ({ query }) => ({
      status: 200,
      body: await search.searchUsers({
        q: query.q ?? '',
        page: query.page ?? DEFAULT_PAGE,
        pageSize: query.page_size ?? DEFAULT_PAGE_SIZE,
      }),
    })),
  ];
}
