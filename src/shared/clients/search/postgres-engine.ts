import type { Knex } from 'knex';
import type {
  PostDocument,
  PostHit,
  SearchEngine,
  SearchQuery,
  SearchResult,
  UserDocument,
  UserHit,
} from './search-engine.ts';
import {
  HIGHLIGHT_START,
  HIGHLIGHT_STOP,
  escapedSql,
  markHighlights,
  withoutHighlightMarkers,
} from './search-snippet.ts';

// One excerpt around the best match, so a short post is shown whole, punctuation and all.
const HEADLINE_OPTIONS = `MaxWords=30, MinWords=12, StartSel="${HIGHLIGHT_START}", StopSel="${HIGHLIGHT_STOP}"`;

const ESCAPED_CONTENT = escapedSql('content');

/** Web search syntax (phrases, exclusions, `or`): the query is meant as written, not as typed so far. */
const WEB_SEARCH_SYNTAX = /"|(^|\s)-|(^|\s)or(\s|$)/i;

const USER_COLUMNS = ['id', 'handle', 'display_name', 'bio', 'profile_image_url'] as const;

const wordsOf = (q: string) => q.toLowerCase().match(/[\p{L}\p{N}]+/gu);

/**
 * A prefix query over the letters and digits of q, so "ali" finds "alice" while typing.
 * Built from word characters only, so user input can never be tsquery syntax.
 */
function prefixTsquery(q: string): string | undefined {
  const words = wordsOf(q);
  return words ? words.map((w) => `${w}:*`).join(' & ') : undefined;
}

/**
 * The words of q with the last one as a prefix, the word still being typed, as Meilisearch
 * treats a query. A prefix on every word would make each short one match a large part of the
 * corpus for nothing.
 */
function lastWordPrefixTsquery(q: string): string | undefined {
  const words = wordsOf(q);
  if (!words) return undefined;
  const last = words.pop()!;
  return [...words, `${last}:*`].join(' & ');
}

/**
 * At most this many matches are ranked, counted and paged: Meilisearch's default
 * `pagination.maxTotalHits`, so both engines answer alike. Ranking needs each match's
 * document from the table, so an uncapped common word would cost a read of a large share of
 * the corpus per query; capped, a query costs about the same whatever it matches.
 */
export const MAX_TOTAL_HITS = 1000;

/**
 * PostgreSQL full-text search over the search_posts / search_users tables (see the
 * search-documents migration). Uses the write pool: index jobs write, and a search right
 * after an index job must not miss it through replica lag.
 */
export function createPostgresSearchEngine(db: Knex): SearchEngine {
  // Cast so the total is a number whatever int8 parser the pool was given.
  const COUNT = db.raw('count(*)::int as count');

  /**
   * websearch_to_tsquery for a query in web search syntax; a plain query is its words with
   * the last one as a prefix, so a title is found while its last word is still being typed
   * (which is what websearch_to_tsquery would find, and more).
   */
  function postsTsquery(q: string): Knex.Raw {
    const prefix = WEB_SEARCH_SYNTAX.test(q) ? undefined : lastWordPrefixTsquery(q);
    return prefix
      ? db.raw("to_tsquery('simple', ?)", [prefix])
      : db.raw("websearch_to_tsquery('simple', ?)", [q]);
  }

  /**
   * One statement: the first MAX_TOTAL_HITS matches, ranked; the page of them; their count.
   * ts_headline reparses the whole text, so it runs on the page only. The page is joined to
   * a single row so that a page past the last still carries the count.
   */
  async function searchPosts({ q, page, pageSize }: SearchQuery): Promise<SearchResult<PostHit>> {
    const { rows } = await db.raw<{ rows: (PostHit & { total: number })[] }>(
      `with q as (select ? as query),
      candidates as materialized (
        select id, ts_rank(document, q.query) as rank
        from search_posts, q where document @@ q.query limit ?
      ),
      page as (
        select search_posts.*, candidates.rank from candidates
        join search_posts using (id) order by rank desc, id desc limit ? offset ?
      )
      select (select count(*)::int from candidates) as total, page.id, page.author_id,
        page.title, ts_headline('simple', ${ESCAPED_CONTENT}, q.query, ?) as snippet
      from q left join page on true
      order by page.rank desc, page.id desc`,
      [postsTsquery(q), MAX_TOTAL_HITS, pageSize, (page - 1) * pageSize, HEADLINE_OPTIONS],
    );
    const total = rows[0]?.total ?? 0;
    return {
      hits: rows
        .filter((row) => row.id !== null)
        .map(({ id, author_id, title, snippet }) => ({
          id,
          author_id,
          title,
          snippet: markHighlights(snippet),
        })),
      total_hits: total,
    };
  }

  async function searchUsers({ q, page, pageSize }: SearchQuery): Promise<SearchResult<UserHit>> {
    const tsquery = prefixTsquery(q);
    const base = () => {
      const qb = db('search_users');
      return tsquery ? qb.whereRaw("document @@ to_tsquery('simple', ?)", [tsquery]) : qb;
    };
    const [countRow] = await base().select<{ count: number }[]>(COUNT);
    const total = countRow?.count ?? 0;
    if (total === 0) return { hits: [], total_hits: 0 };

    const rows = base().select(...USER_COLUMNS);
    if (tsquery) {
      // An exact handle match first: typing someone's full handle should find them on top.
      rows
        .orderByRaw('lower(handle) = ? desc', [q.trim().replace(/^@/, '').toLowerCase()])
        .orderByRaw("ts_rank(document, to_tsquery('simple', ?)) desc", [tsquery]);
    }
    rows
      .orderByRaw('lower(handle)')
      .orderBy('id')
      .limit(pageSize)
      .offset((page - 1) * pageSize);
    return { hits: (await rows) as UserHit[], total_hits: total };
  }

  return {
    async indexPost(doc: PostDocument) {
      await db('search_posts')
        .insert({ ...doc, content: withoutHighlightMarkers(doc.content) })
        .onConflict('id')
        .merge()
        .where('search_posts.updated_at', '<=', db.ref('excluded.updated_at'));
    },
    async deletePost(id) {
      await db('search_posts').where({ id }).delete();
    },
    async indexUser(doc: UserDocument) {
      await db('search_users').insert(doc).onConflict('id').merge();
    },
    async deleteUser(id) {
      await db('search_users').where({ id }).delete();
    },
    searchPosts,
    searchUsers,
    // The tables and indexes are owned by migrations.
    async applySettings() {},
    // The pool belongs to the caller.
    async close() {},
  };
}
