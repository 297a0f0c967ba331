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

/**
 * A prefix query over the letters and digits of q, so "ali" finds "alice" while typing.
 * Built from word characters only, so user input can never be tsquery syntax.
 */
function prefixTsquery(q: string): string | undefined {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu);
  return words ? words.map((w) => `${w}:*`).join(' & ') : undefined;
}

/**
 * PostgreSQL full-text search over the search_posts / search_users tables (see the
 * search-documents migration). Uses the write pool: index jobs write, and a search right
 * after an index job must not miss it through replica lag.
 */
export function createPostgresSearchEngine(db: Knex): SearchEngine {
  // Cast so the total is a number whatever int8 parser the pool was given.
  const COUNT = db.raw('count(*)::int as count');

  /**
   * websearch_to_tsquery, widened for a plain query by the prefix of every word, so a title
   * is found while its last word is still being typed.
   */
  function postsTsquery(q: string): Knex.Raw {
    const prefix = WEB_SEARCH_SYNTAX.test(q) ? undefined : prefixTsquery(q);
    return prefix
      ? db.raw("(websearch_to_tsquery('simple', ?) || to_tsquery('simple', ?))", [q, prefix])
      : db.raw("websearch_to_tsquery('simple', ?)", [q]);
  }

  async function searchPosts({ q, page, pageSize }: SearchQuery): Promise<SearchResult<PostHit>> {
    const tsquery = postsTsquery(q);
    const [countRow] = await db('search_posts')
      .whereRaw('document @@ ?', [tsquery])
      .select<{ count: number }[]>(COUNT);
    const total = countRow?.count ?? 0;
    if (total === 0) return { hits: [], total_hits: 0 };

    // ts_headline reparses the whole text, so it runs on the page only, not on every match.
    const rows = await db
      .with('page', (qb) =>
        qb
          .from(db.raw('search_posts, (select ? as query) as q', [tsquery]))
          .select('id', 'author_id', 'title', 'content', 'query')
          .select(db.raw('ts_rank(document, query) as rank'))
          .whereRaw('document @@ query')
          .orderBy([
            { column: 'rank', order: 'desc' },
            { column: 'id', order: 'desc' },
          ])
          .limit(pageSize)
          .offset((page - 1) * pageSize),
      )
      .from('page')
      .select('id', 'author_id', 'title')
      .select(
        db.raw(`ts_headline('simple', ${ESCAPED_CONTENT}, query, ?) as snippet`, [
          HEADLINE_OPTIONS,
        ]),
      )
      .orderBy([
        { column: 'rank', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
    return {
      hits: (rows as PostHit[]).map((row) => ({ ...row, snippet: markHighlights(row.snippet) })),
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
