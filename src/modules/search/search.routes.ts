import type { operations } from '../../generated/openapi.ts';
import { route } from '../../http/typed-handler.ts';
import type { SearchService } from './search.service.ts';

// The validator applies the contract's defaults; these only satisfy the optional types.
const DEFAULT_PAGE = 1;
const DEFAULT_PAGE_SIZE = 20;

// Every parameter of searchUsers is optional, so its generated query group is optional too,
// which QueryParams does not unwrap.
type SearchUsersQuery = NonNullable<operations['searchUsers']['parameters']['query']>;

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

    route('searchUsers', async ({ req }) => {
      const query = req.query as SearchUsersQuery;
      return {
        status: 200,
        body: await search.searchUsers({
          q: query.q ?? '',
          page: query.page ?? DEFAULT_PAGE,
          pageSize: query.page_size ?? DEFAULT_PAGE_SIZE,
        }),
      };
    }),
  ];
}
