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
import {
  excerptPatterns,
  postsTsqueries,
  prefixTsquery,
  type PostsTsqueries,
} from './postgres-tsquery.ts';

// One excerpt around the best match, punctuation and all (fragments would drop it): the
// query's cover, widened to a dozen words where shorter, cut at 30 where longer.
const HEADLINE_OPTIONS = `MaxWords=30, MinWords=12, StartSel="${HIGHLIGHT_START}", StopSel="${HIGHLIGHT_STOP}"`;

/**
 * What ts_headline reads of a post longer than this many characters: an excerpt from the
 * earliest of its query words on. ts_headline's cost is its parse of the text, 70 to 90 ns a
 * character, so the excerpt holds little more than the most words a snippet shows, 30.
 */
export const EXCERPT_CHARS = 320;

const escapedHeadline = (text: string) =>
  `ts_headline('simple', ${escapedSql(text)}, q.query, q.headline_options)`;

/**
 * Where the first match of a pattern's group 2 starts in the post; 0 where the pattern has
 * none, or is null (a query with no word to look for: only `or` or exclusions). A marker the
 * indexed text never holds (search-snippet.ts) is put before it by a replace of the first
 * match only. regexp_instr would give it directly, but finds every match to the end of the
 * text before it answers: twice the time, for a word near the beginning.
 */
const matchAt = (pattern: string, flags: string, from = '1') =>
  `coalesce(strpos(regexp_replace(search_posts.content, ${pattern},
    E'\\\\1${HIGHLIGHT_START}\\\\2', ${from}, 1, '${flags}'), '${HIGHLIGHT_START}'), 0)`;

/**
 * Where a query word is a word of the text (excerptPatterns): null for a post no longer than
 * the excerpt, given whole; 0 where none is.
 */
const WORD_AT = `case when measured.length <= ${EXCERPT_CHARS} then null
  else ${matchAt('q.word_pattern', 'i')} end`;

/**
 * Where the excerpt starts: at the query word; failing that, where one occurs inside a run of
 * characters (the parser may read it as a word there); 0 where none occurs (a match in the
 * title only), the beginning.
 */
const FOUND = `case when word.at is null or word.at > 0 then word.at
  else coalesce(regexp_instr(search_posts.content, q.substring_pattern, 1, 1, 0, 'i'), 0) end`;

/** Where the post's last EXCERPT_CHARS characters start: a query word after it is near the end. */
const LAST_START = `measured.length - ${EXCERPT_CHARS} + 1`;

/**
 * Near the end of the post, the excerpt is its last EXCERPT_CHARS characters, from the first
 * whole word, or from the query word where that comes first (one after punctuation, with no
 * whitespace between): ts_headline leads in to a match there with the words before it.
 */
const LAST_WORDS_START = `coalesce(nullif(${matchAt(
  "'([[:space:]])([^[:space:]])'",
  '',
  `${LAST_START} - 1`,
)}, 0), found.at)`;

const EXCERPT = `case when found.at is null then search_posts.content
  when found.at = 0 then substr(search_posts.content, 1, ${EXCERPT_CHARS})
  when found.at <= ${LAST_START} then substr(search_posts.content, found.at, ${EXCERPT_CHARS})
  else substr(search_posts.content, least(found.at, ${LAST_WORDS_START}), ${EXCERPT_CHARS}) end`;

/** Whether EXCERPT_CHARS from `start` end before the post does, so possibly inside a word. */
const endsBeforePost = (start: string) => `${start} < ${LAST_START}`;

/**
 * What ts_headline is given of an excerpt: all of it but the word it may end inside and the
 * space before, as that word would show as a fragment, or be marked for a whole word it spells
 * ("car" of "carpets").
 */
const withoutCutWord = (excerpt: string, cut: string) => `case when ${cut}
    and strpos(${excerpt}, ' ') > 0
  then left(${excerpt}, -1 - char_length(split_part(${excerpt}, ' ', -1)))
  else ${excerpt} end`;

/**
 * Where the excerpt's headline marks nothing, a second one, of no more text: from the query
 * word, where the excerpt was the lead-in to it near the end and held no cover of the whole
 * query, so ts_headline showed its first dozen words and not the word; from the beginning,
 * where the query word occurred only inside a word the parser reads whole, as when the query
 * matches the title only.
 */
const RETRY_START = `case when found.at > ${LAST_START} then found.at
  when word.at = 0 then 1 end`;

const RETRY_EXCERPT = `case when found.at > 0 and strpos(headline.snippet, '${HIGHLIGHT_START}') = 0
  then substr(search_posts.content, ${RETRY_START}, ${EXCERPT_CHARS}) end`;

const USER_COLUMNS = ['id', 'handle', 'display_name', 'bio', 'profile_image_url'] as const;

/**
 * At most this many matches are ranked, counted and paged: Meilisearch's default
 * `pagination.maxTotalHits`, so both engines answer alike. Ranking needs each match's
 * document from the table, so an uncapped common word would cost a read of a large share of
 * the corpus per query; capped, a query costs about the same whatever it matches.
 */
export const MAX_TOTAL_HITS = 1000;

/**
 * How each form finds its matches. A plain query ending in a short prefix reads exact entries
 * only; any other reads `query` itself, whose prefix, if any, GIN expands to every lexeme it
 * starts. Keyed by form, as the statement is prepared under its form's name: one text each.
 */
const MATCH_CONDITIONS: Record<PostsTsqueries['form'], string> = {
  websearch: 'document @@ q.query',
  typed: 'document @@ q.query',
  prefix: 'search_prefixes(document) @@ q.prefix',
  words_and_prefix: 'document @@ q.words and search_prefixes(document) @@ q.prefix',
};

/**
 * One statement: the first MAX_TOTAL_HITS matches, ranked; the page of their ids; their count.
 * The tsqueries are a materialized row, unknowns to the planner, so it plans the same index
 * scan whatever the words: from their statistics it would scan a common prefix sequentially,
 * computing search_prefixes for every row. Only the page's rows are read again, for the title
 * and the snippet. The page is joined to a single row so that a page past the last still
 * carries the count. Each step of the snippet is a subquery of its own (`offset 0`), evaluated
 * once a row: inlined, each mention of a step would compute it again.
 *
 * As its plan does not depend on the words, the statement is prepared, once per connection
 * and form: a search then sends only its values, and PostgreSQL parses the text once and, after
 * five runs, plans it once (a fifth of a typical query's time).
 */
export function postsSearchStatement(
  db: Knex,
  { q, page, pageSize }: SearchQuery,
): Knex.Raw<{ rows: (PostHit & { total: number })[] }> {
  const tsqueries = postsTsqueries(db, q);
  const none = db.raw('null::tsquery');
  const patterns = excerptPatterns(q);
  return db
    .raw(
      `with q as materialized (
      select ? as query, ? as prefix, ? as words, ?::text as word_pattern,
        ?::text as substring_pattern, ?::text as headline_options
    ),
    candidates as materialized (
      select id, ts_rank(document, q.query) as rank
      from search_posts, q where ${MATCH_CONDITIONS[tsqueries.form]} limit ${MAX_TOTAL_HITS}
    ),
    page as (
      select id, rank from candidates order by rank desc, id desc limit ? offset ?
    )
    select (select count(*)::int from candidates) as total, page.id, search_posts.author_id,
      search_posts.title, coalesce(retry.snippet, headline.snippet) as snippet
    from q left join (page join search_posts using (id)) on true
      left join lateral (
        select char_length(search_posts.content) as length offset 0
      ) as measured on true
      left join lateral (select ${WORD_AT} as at offset 0) as word on true
      left join lateral (select ${FOUND} as at offset 0) as found on true
      left join lateral (
        select ${EXCERPT} as excerpt, ${endsBeforePost('found.at')} as cut offset 0
      ) as excerpt on true
      left join lateral (
        select ${escapedHeadline(withoutCutWord('excerpt.excerpt', 'excerpt.cut'))} as snippet
        offset 0
      ) as headline on true
      left join lateral (
        select ${RETRY_EXCERPT} as excerpt, ${endsBeforePost(RETRY_START)} as cut offset 0
      ) as retry_excerpt on true
      left join lateral (
        select ${escapedHeadline(withoutCutWord('retry_excerpt.excerpt', 'retry_excerpt.cut'))}
          as snippet offset 0
      ) as retry on true
    order by page.rank desc, page.id desc`,
      [
        tsqueries.query,
        tsqueries.prefix ?? none,
        tsqueries.words ?? none,
        patterns?.words ?? null,
        patterns?.substrings ?? null,
        HEADLINE_OPTIONS,
        pageSize,
        (page - 1) * pageSize,
      ],
    )
    .options({ name: `search_posts_${tsqueries.form}` });
}

/**
 * PostgreSQL full-text search over the search_posts / search_users tables (see the
 * search-documents migration). Uses the write pool: index jobs write, and a search right
 * after an index job must not miss it through replica lag.
 */
export function createPostgresSearchEngine(db: Knex): SearchEngine {
  // Cast so the total is a number whatever int8 parser the pool was given.
  const COUNT = db.raw('count(*)::int as count');

  async function searchPosts(query: SearchQuery): Promise<SearchResult<PostHit>> {
    const { rows } = await postsSearchStatement(db, query);
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
