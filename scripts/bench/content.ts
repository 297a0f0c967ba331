import { DEEP_PAGE, PAGE_SIZE, type SeededContent } from './content-seed.ts';
import type { HttpScenario } from './http-scenarios.ts';

/** The kit's layers may cost at most a fifth of what its libraries and stores cost. */
const FLOOR_RATIO_TARGET = 0.8;
const SEARCH_P99_TARGET_MS = 50;
const SEARCH_CONNECTIONS = 20;
/** How much slower than the first page a page DEEP_PAGE deep may be at p99. */
export const DEEP_PAGE_P99_FACTOR = 1.5;

export interface ContentScenarios {
  postById: HttpScenario;
  firstPage: HttpScenario;
  deepPage: HttpScenario;
  search: HttpScenario;
  close(): Promise<void>;
}

/**
 * The content scenarios over the seeded corpus. The cache-hit post is written through the
 * API (body in the content store, like any post) by the signed-in bench user and read once,
 * which fills its cache entry. Every scenario is an anonymous visitor's.
 */
export async function contentScenarios(
  appUrl: string,
  cookie: string,
  seeded: SeededContent,
): Promise<ContentScenarios> {
  const created = await fetch(`${appUrl}/v0/posts`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({
      title: 'The bench post',
      content: 'A post of a few hundred bytes, read from the cache. '.repeat(8),
    }),
  });
  if (created.status !== 201) {
    throw new Error(`bench post not created: ${created.status} ${await created.text()}`);
  }
  const { id } = (await created.json()) as { id: string };
  const warm = await fetch(`${appUrl}/v0/posts/${id}`);
  if (warm.status !== 200) throw new Error(`bench post not readable: ${warm.status}`);
  // A visitor's browser sends back the anonymous id its first answer set.
  const anonymous = { app: { cookie: warm.headers.getSetCookie()[0]!.split(';')[0]! } };

  return {
    postById: {
      name: 'GET /v0/posts/{id} (cache hit)',
      paths: [`/v0/posts/${id}`],
      headers: anonymous,
      floorRatioTarget: FLOOR_RATIO_TARGET,
    },
    firstPage: {
      name: `GET /v0/posts?limit=${PAGE_SIZE} (first page)`,
      paths: [`/v0/posts?limit=${PAGE_SIZE}`],
      headers: anonymous,
    },
    deepPage: {
      name: `GET /v0/posts?limit=${PAGE_SIZE}&cursor=… (page ${DEEP_PAGE.toLocaleString('en')})`,
      paths: [`/v0/posts?limit=${PAGE_SIZE}&cursor=${seeded.deepCursor}`],
      headers: anonymous,
    },
    search: {
      name: `GET /v0/search/posts?q=… (PostgreSQL, ${seeded.searchQueries.length} queries in turn)`,
      paths: seeded.searchQueries.map((q) => `/v0/search/posts?q=${encodeURIComponent(q)}`),
      headers: anonymous,
      connections: SEARCH_CONNECTIONS,
      p99TargetMs: SEARCH_P99_TARGET_MS,
    },
    async close() {
      await fetch(`${appUrl}/v0/posts/${id}`, { method: 'DELETE', headers: { cookie } });
    },
  };
}
