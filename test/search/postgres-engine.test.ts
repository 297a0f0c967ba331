import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXCERPT_CHARS,
  MAX_TOTAL_HITS,
  createPostgresSearchEngine,
  postsSearchStatement,
} from '../../src/shared/clients/search/postgres-engine.ts';
import { MAX_INDEXED_PREFIX } from '../../src/shared/clients/search/postgres-tsquery.ts';
import type { SearchEngine } from '../../src/shared/clients/search/search-engine.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';

/** A word no other document contains (letters only: the tokenizer splits digits off). */
const uniqueWord = (prefix: string) =>
  `${prefix}${randomBytes(5).toString('hex')}`.replace(/\d/g, (d) => 'abcdefghij'[Number(d)]!);

let tables: PrivateTables;
let engine: SearchEngine;

beforeAll(async () => {
  tables = await createPrivateTables(['search_posts']);
  engine = createPostgresSearchEngine(tables.db.write);
});

afterAll(async () => {
  await tables?.drop();
});

const document = (title: string, content: string) => ({
  id: newId(),
  author_id: newId(),
  title,
  content,
  updated_at: new Date(),
});

/** A snippet's text without its highlight tags. */
const unmarked = (snippet: string | undefined) => snippet?.replace(/<\/?mark>/g, '');

describe('the PostgreSQL engine', () => {
  it('When a query, ending in a whole word or in a short prefix, matches more posts than MAX_TOTAL_HITS, then it counts and pages that many and a page past them is empty', async () => {
    const word = uniqueWord('common');
    const rows = Array.from({ length: MAX_TOTAL_HITS + 50 }, (_, i) =>
      document(`Post ${i}`, `${word} and other words`),
    );
    await tables.db.write('search_posts').insert(rows);
    const pageSize = 50;
    const lastPage = MAX_TOTAL_HITS / pageSize;

    for (const q of [word, `${word} an`]) {
      const first = await engine.searchPosts({ q, page: 1, pageSize });
      const last = await engine.searchPosts({ q, page: lastPage, pageSize });
      const past = await engine.searchPosts({ q, page: lastPage + 1, pageSize });

      expect(first.total_hits, q).toBe(MAX_TOTAL_HITS);
      expect(first.hits, q).toHaveLength(pageSize);
      expect(last.hits, q).toHaveLength(pageSize);
      expect(past, q).toEqual({ hits: [], total_hits: MAX_TOTAL_HITS });
    }
  });

  it('When a query has several words, then only the last is a prefix: an earlier word must be whole', async () => {
    const first = uniqueWord('kestrel');
    const last = uniqueWord('falcon');
    const whole = document('Whole', `${first} ${last}`);
    const longer = document('Longer', `${first}s ${last}`);
    await engine.indexPost(whole);
    await engine.indexPost(longer);

    const typed = await engine.searchPosts({
      q: `${first} ${last.slice(0, 8)}`,
      page: 1,
      pageSize: 10,
    });
    const earlierAsPrefix = await engine.searchPosts({
      q: `${first.slice(0, 9)} ${last}`,
      page: 1,
      pageSize: 10,
    });

    expect(typed.hits.map((hit) => hit.id)).toEqual([whole.id]);
    expect(earlierAsPrefix).toEqual({ hits: [], total_hits: 0 });
  });

  it('When a query uses web search syntax, then a phrase must appear in order and an excluded word keeps a post out', async () => {
    const topic = uniqueWord('orrery');
    const other = uniqueWord('gears');
    const inOrder = document('In order', `${topic} ${other} turning`);
    const reversed = document('Reversed', `${other} ${topic} turning`);
    await engine.indexPost(inOrder);
    await engine.indexPost(reversed);
    const ids = async (q: string) =>
      (await engine.searchPosts({ q, page: 1, pageSize: 10 })).hits.map((hit) => hit.id).sort();

    expect(await ids(`"${topic} ${other}"`)).toEqual([inOrder.id]);
    expect(await ids(`${topic} -"${other} ${topic}"`)).toEqual([inOrder.id]);
    expect(await ids(`${topic} ${other}`)).toEqual([inOrder.id, reversed.id].sort());
  });
});

interface PlanNode {
  'Node Type': string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

const planNodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(planNodes)];

/** The conditions of the plan's index scans. */
const indexConditions = (plan: PlanNode) =>
  planNodes(plan)
    .filter((node) => node['Node Type'] === 'Bitmap Index Scan')
    .map((node) => node['Index Cond']);

/** One index scan, on exact prefix entries, for a query ending in a short prefix. */
function expectOnePrefixScan(plan: PlanNode): void {
  const conditions = indexConditions(plan);
  expect(conditions).toHaveLength(1);
  expect(conditions[0]).toContain('search_prefixes(document) @@');
  // q.query is the statement's one tsquery with a partial match: it ranks and highlights.
  expect(conditions[0]).not.toMatch(/\.query\b|:\*/);
}

/** The plan of the engine's statement for q. */
async function planFor(db: Knex, q: string): Promise<PlanNode> {
  const { rows } = await db.raw<{ rows: { 'QUERY PLAN': [{ Plan: PlanNode }] }[] }>(
    'explain (format json) ?',
    [postsSearchStatement(db, { q, page: 1, pageSize: 20 })],
  );
  return rows[0]!['QUERY PLAN'][0].Plan;
}

describe('the prefix index', () => {
  const N = MAX_INDEXED_PREFIX;
  const ids = async (q: string) =>
    (await engine.searchPosts({ q, page: 1, pageSize: 50 })).hits.map((hit) => hit.id);

  /** What a partial-match tsquery finds, ranked as the engine ranks: its query before prefixes. */
  async function partialMatch(tsquery: string) {
    const { rows } = await tables.db.write.raw<{ rows: { id: string }[] }>(
      `select id from search_posts, to_tsquery('simple', ?) as query where document @@ query
       order by ts_rank(document, query) desc, id desc`,
      [tsquery],
    );
    return rows.map((row) => row.id);
  }

  it('When a tsvector is given, then search_prefixes holds the first 1 to N characters of each lexeme, a short lexeme whole, and no positions', async () => {
    const { rows } = await tables.db.write.raw<{ rows: { prefixes: string }[] }>(
      'select search_prefixes(?::tsvector)::text as prefixes',
      ["'x':1 'ab':2A 'café':3 'porivoshi':4B,5"],
    );

    expect(N).toBe(6);
    expect(rows[0]?.prefixes).toBe(
      "'a' 'ab' 'c' 'ca' 'caf' 'café' 'p' 'po' 'por' 'pori' 'poriv' 'porivo' 'x'",
    );
  });

  it('When the last word has 2 characters, or is a whole short word, then the posts with a word it starts are found', async () => {
    const topic = uniqueWord('heron');
    const polo = document('Polo', `${topic} polo`);
    const polonaise = document('Polonaise', `${topic} polonaise`);
    await tables.db
      .write('search_posts')
      .insert([polo, polonaise, document('Other', `${topic} mallet`)]);
    const both = [polo.id, polonaise.id].sort();

    expect((await ids(`${topic} po`)).sort()).toEqual(both);
    expect((await ids(`${topic} polo`)).sort()).toEqual(both);
    expect(await ids(`${topic} polon`)).toEqual([polonaise.id]);
    expect(await ids(`${topic} pa`)).toEqual([]);
  });

  it('When the last word has N characters, then the prefix index finds the posts it starts; with N + 1, the partial match finds only those it still starts', async () => {
    const topic = uniqueWord('ibis');
    const word = uniqueWord('longword');
    const post = document('Long', `${topic} ${word}`);
    const sameStart = document('Same start', `${topic} ${word.slice(0, N)}zzzz`);
    await tables.db.write('search_posts').insert([post, sameStart]);

    expect((await ids(`${topic} ${word.slice(0, N)}`)).sort()).toEqual(
      [post.id, sameStart.id].sort(),
    );
    expect(await ids(`${topic} ${word.slice(0, N + 1)}`)).toEqual([post.id]);
  });

  it('When the last word is a single character, then the posts with a word it starts are found', async () => {
    const topic = uniqueWord('egret');
    const post = document('One', `${topic} feather`);
    await tables.db.write('search_posts').insert([post, document('Two', `${topic} gull`)]);

    expect(await ids(`${topic} f`)).toEqual([post.id]);
  });

  it('When the query is in capitals, then its words are lower-cased as the documents were, even where JavaScript differs (a final capital sigma)', async () => {
    const topic = uniqueWord('crane');
    const post = document('Logos', `${topic} ΛΌΓΟΣ`);
    await tables.db.write('search_posts').insert(post);

    expect(await ids(`${topic.toUpperCase()} ΛΌΓΟΣ`)).toEqual([post.id]);
    expect(await ids(`${topic} λόγ`)).toEqual([post.id]);
  });

  it('When the parser splits a word where the query does not (H₂O: h and o), then the query keeps the partial match and finds the post', async () => {
    const topic = uniqueWord('stork');
    const post = document('Water', `${topic} H₂O`);
    await tables.db.write('search_posts').insert(post);
    const splitFirst = `H₂O ${topic.slice(0, 4)}`;

    expect(await partialMatch(`${topic} & H₂O:*`)).toEqual([post.id]);
    expect(await ids(`${topic} H₂O`)).toEqual([post.id]);
    expect(await ids(splitFirst)).toEqual([post.id]);
    // Its phrase would have each match rechecked, computing search_prefixes for every one: the
    // one index scan is the query's own, partial match and all.
    expect(indexConditions(await planFor(tables.db.write, splitFirst))).toEqual([
      '(document @@ q_1.query)',
    ]);
  });

  it('When a corpus is searched as it is typed, then each prefix finds the posts the partial-match query finds, in its order', async () => {
    const topic = uniqueWord('plover');
    const words = [
      'ka',
      'kalo',
      'kalomi',
      'kalomiren',
      'kalopo',
      'lo',
      'mi',
      'miren',
      '2026',
      '20261202',
    ];
    const pick = (i: number) => words[i % words.length]!;
    const posts = Array.from({ length: 40 }, (_, i) =>
      document(pick(i), `${topic} ${pick(i * 7)} ${pick(i * 3)} ${'filler '.repeat(i % 5)}`),
    );
    await tables.db.write('search_posts').insert(posts);

    for (const word of ['kalomiren', 'kalopo', 'miren', '20261202']) {
      for (let length = 1; length <= word.length; length += 1) {
        const prefix = word.slice(0, length);
        const expected = await partialMatch(`${topic} & ${prefix}:*`);
        expect(expected.length).toBeGreaterThan(1);
        expect(await ids(`${topic} ${prefix}`), prefix).toEqual(expected);
      }
    }
  });

  /**
   * Runs `test` on a search_posts table of its own whose 300 rows all hold "tern" and "polo",
   * analysed, so that the statistics say every row matches: a planner that could see the words
   * would then read the table in full, computing search_prefixes for each row.
   */
  async function withEveryRowMatching(test: (db: Knex) => Promise<void>): Promise<void> {
    const own = await createPrivateTables(['search_posts']);
    try {
      await own.db
        .write('search_posts')
        .insert(Array.from({ length: 300 }, (_, i) => document(`Tern ${i}`, `tern polo ${i}`)));
      await own.db.write.raw('analyze search_posts');
      await test(own.db.write);
    } finally {
      await own.drop();
    }
  }

  it('When the query ends in a short prefix, even a single letter, that every row holds, then one index scan reads search_prefixes and no partial match', async () => {
    await withEveryRowMatching(async (db) => {
      expectOnePrefixScan(await planFor(db, 'tern po'));
      expectOnePrefixScan(await planFor(db, 'tern p'));
      expectOnePrefixScan(await planFor(db, 'p'));
    });
  });

  it('When the statement has run a few times on a connection, then PostgreSQL plans it once for any words, and that plan too is one scan of search_prefixes and no partial match', async () => {
    await withEveryRowMatching(async (db) => {
      // One transaction, one connection: the statement is prepared on the connection it runs on.
      await db.transaction(async (trx) => {
        const plans = (name: string) =>
          trx
            .raw<{ rows: { generic_plans: number; custom_plans: number }[] }>(
              'select generic_plans::int, custom_plans::int from pg_prepared_statements where name = ?',
              [name],
            )
            .then(({ rows }) => rows);
        for (const [q, name] of [
          ['tern po', 'search_posts_words_and_prefix'],
          ['p', 'search_posts_prefix'],
        ] as const) {
          // PostgreSQL plans a prepared statement's first five runs for their values, then keeps
          // one plan for all when it costs no more than theirs did.
          for (let run = 0; run < 6; run += 1) {
            const { rows } = await postsSearchStatement(trx, { q, page: 1, pageSize: 20 });
            expect(rows.map((row) => row.total)).toEqual(Array(20).fill(300));
          }
          expect(await plans(name), q).toEqual([{ generic_plans: 1, custom_plans: 5 }]);

          const values = postsSearchStatement(trx, { q, page: 1, pageSize: 20 })
            .toSQL()
            .toNative().bindings;
          // Inlined: EXECUTE takes its values as literals, not as the protocol's parameters.
          const explain = trx
            .raw(`explain (format json) execute ${name}(${values.map(() => '?').join(', ')})`, [
              ...values,
            ])
            .toQuery();
          const { rows } = await trx.raw<{ rows: { 'QUERY PLAN': [{ Plan: PlanNode }] }[] }>(
            explain,
          );
          expectOnePrefixScan(rows[0]!['QUERY PLAN'][0].Plan);
        }
      });
    });
  });

  it('When the last word is a prefix, then the snippet still escapes markup and marks the words it starts', async () => {
    const topic = uniqueWord('rail');
    await tables.db
      .write('search_posts')
      .insert(document('Markup', `${topic} <script>alert("x")</script> & it's tagged`));

    const [hit] = (await engine.searchPosts({ q: `${topic} tag`, page: 1, pageSize: 10 })).hits;

    expect(hit?.snippet).toContain(
      `<mark>${topic}</mark> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; it&#39;s <mark>tagged</mark>`,
    );
    expect(unmarked(hit?.snippet)).not.toMatch(/[<>"]/);
  });
});

describe('the snippet of a post longer than the excerpt ts_headline reads', () => {
  /** `count` distinct words of `letters` letters each, space-separated. */
  const filler = (count: number, letters = 8) =>
    Array.from({ length: count }, () => uniqueWord('').repeat(3).slice(0, letters)).join(' ');
  const search = async (q: string) =>
    (await engine.searchPosts({ q, page: 1, pageSize: 10 })).hits[0]?.snippet;

  it('When its word lies deep inside, however capitalised, then the snippet marks it there', async () => {
    const word = uniqueWord('wren');
    const before = filler(3_300);
    const content = `${before} ${word.toUpperCase()} then ${filler(1_200)}`;
    await engine.indexPost(document('Deep', content));

    const snippet = await search(word);

    expect(snippet?.startsWith(`<mark>${word.toUpperCase()}</mark> then `)).toBe(true);
    expect(content.includes(unmarked(snippet)!)).toBe(true);
  });

  it('When its word is its last, then the snippet leads in with the words before it, from a whole one', async () => {
    const word = uniqueWord('finch');
    // Long words: the dozen before the match reach back past the window's first character.
    const content = `${filler(1_700, 23)} ${word}`;
    await engine.indexPost(document('Last', content));

    const snippet = await search(word);

    expect(snippet?.endsWith(` <mark>${word}</mark>`)).toBe(true);
    const text = unmarked(snippet)!;
    const at = content.indexOf(text);
    expect(at).toBeGreaterThan(0);
    expect(content[at - 1]).toBe(' ');
    expect(text.split(' ').length).toBeGreaterThan(5);
  });

  it('When the query matches its title only, then the snippet is its beginning', async () => {
    const word = uniqueWord('title');
    const content = filler(4_500);
    await engine.indexPost(document(`About ${word}`, content));

    const snippet = await search(word);

    expect(snippet).toBeDefined();
    expect(content.startsWith(snippet!)).toBe(true);
  });

  it('When its word occurs early only inside another word, then the snippet still marks it where it is a word', async () => {
    const word = uniqueWord('lark');
    const content = `x${word} ${filler(3_000)} ${word} ${filler(1_000)}`;
    await engine.indexPost(document('Glued', content));

    const snippet = await search(word);

    expect(snippet?.startsWith(`<mark>${word}</mark> `)).toBe(true);
  });

  it('When a whole word of the query first occurs as the start of a longer word, then the snippet is taken where it is the word', async () => {
    const first = uniqueWord('heron');
    const second = uniqueWord('egret');
    const content = `${first}ry ${filler(3_000)} ${first} ${second} ${filler(1_000)}`;
    await engine.indexPost(document('Longer', content));

    const snippet = await search(`${first} ${second.slice(0, 9)}`);

    expect(snippet?.startsWith(`<mark>${first}</mark> <mark>${second}</mark> `)).toBe(true);
  });

  it('When its word is joined to another by an underscore, where the parser splits and a regular expression does not, then the snippet still marks it there', async () => {
    const word = uniqueWord('wren');
    const content = `${filler(3_000)} x_${word} ${filler(1_000)}`;
    await engine.indexPost(document('Joined', content));

    const snippet = await search(word);

    expect(snippet?.startsWith(`<mark>${word}</mark> `)).toBe(true);
  });

  it('When its word occurs in the text only inside another, then no part of that word is marked', async () => {
    const word = uniqueWord('kite');
    const content = `${filler(3_000)} x${word}s ${filler(1_000)}`;
    await engine.indexPost(document(`About ${word}`, content));

    const snippet = await search(word);

    expect(snippet).toBeDefined();
    expect(snippet).not.toContain('<mark>');
    expect(content.startsWith(snippet!)).toBe(true);
  });

  it('When its word occurs in the text only inside another and the beginning shown instead holds few long words, then the snippet ends at a whole word', async () => {
    const word = uniqueWord('kite');
    // Ten words of 30 letters and their spaces fill 310 of the 320 characters: short of the
    // dozen words ts_headline shows when nothing matches, so it would show the eleventh, cut.
    const head = filler(11, 30);
    expect(head.length).toBeGreaterThan(EXCERPT_CHARS);
    const content = `${head} ${filler(3_000)} x${word}s ${filler(1_000)}`;
    await engine.indexPost(document(`About ${word}`, content));

    const snippet = await search(word);

    expect(snippet).toBe(head.split(' ').slice(0, 10).join(' '));
  });

  it('When the query holds no word the excerpt looks for (a quoted `or`), then ts_headline reads the first 320 characters, not the whole post', async () => {
    const content = `${filler(3_000)} or ${filler(1_000)}`;
    await engine.indexPost(document('Quoted', content));

    const snippet = await search('"or"');

    // The whole post would have given ts_headline the deep "or" to mark.
    expect(snippet).toBeDefined();
    expect(snippet).not.toContain('<mark>');
    expect(content.startsWith(snippet!)).toBe(true);
  });

  it('When its word first occurs at the end of a web address, then the snippet is taken where it is a word', async () => {
    const word = uniqueWord('tern');
    const content = `${filler(3_000)} see host.example/${word} now ${word} later ${filler(1_000)}`;
    await engine.indexPost(document('Linked', content));

    const snippet = await search(word);

    expect(snippet?.startsWith(`<mark>${word}</mark> later `)).toBe(true);
  });

  it('When the query is one word of two letters, then the snippet is taken where it is a word', async () => {
    const content = `${filler(3_000)} zq ${filler(1_000)}`;
    await engine.indexPost(document('Short', content));

    const snippet = await search('zq');

    expect(snippet?.startsWith('<mark>zq</mark> ')).toBe(true);
  });

  it('When its word is near the end and the other word of the query is in the title only, then the snippet still marks it', async () => {
    const word = uniqueWord('gull');
    const other = uniqueWord('skua');
    const content = `${filler(1_700)} ${word}`;
    await engine.indexPost(document(`About ${other}`, content));

    const snippet = await search(`${word} ${other}`);

    expect(snippet).toContain(`<mark>${word}</mark>`);
  });

  it('When its word is near the end, the other word in the title only, and a few words follow it, then the snippet runs from it to the last word', async () => {
    const word = uniqueWord('gull');
    const other = uniqueWord('skua');
    const tail = filler(5);
    const content = `${filler(1_700)} ${word} ${tail}`;
    await engine.indexPost(document(`About ${other}`, content));

    const snippet = await search(`${word} ${other}`);

    expect(snippet).toBe(`<mark>${word}</mark> ${tail}`);
  });

  it('When a word of the query first occurs as part of a file name or an address, which the parser reads whole, then the snippet is taken where it is a word', async () => {
    const word = uniqueWord('node');
    const other = uniqueWord('perf');
    const content = `${filler(3_000)} see ${word}.js and ${word}@host.example ${filler(300)} ${word} ${other} ${filler(1_000)}`;
    await engine.indexPost(document('Files', content));

    const snippet = await search(`${word} ${other}`);

    expect(snippet?.startsWith(`<mark>${word}</mark> <mark>${other}</mark> `)).toBe(true);
  });

  it('When its word follows a dash with no space, then the snippet is taken there', async () => {
    const word = uniqueWord('petrel');
    const content = `${filler(3_000)} un${word} ${filler(300)} results\u2014${word} ${filler(1_000)}`;
    await engine.indexPost(document('Dashed', content));

    const snippet = await search(word);

    expect(snippet?.startsWith(`<mark>${word}</mark> `)).toBe(true);
    expect(content.includes(`\u2014${unmarked(snippet)!}`)).toBe(true);
  });

  it('When the query has a short word beside longer ones, then the snippet is taken around the longer ones', async () => {
    const word = uniqueWord('auk');
    const content = `in ${filler(3_000)} ${word} ${filler(1_000)}`;
    await engine.indexPost(document('Short words', content));

    const snippet = await search(`in ${word}`);

    expect(snippet).toContain(`<mark>${word}</mark>`);
  });

  it('When the excerpt ends inside a word that begins with a whole word of the query, then that beginning is not marked', async () => {
    const word = uniqueWord('gnat');
    const other = uniqueWord('ox');
    const head = `${filler(3_000)} ${word} `;
    const start = head.lastIndexOf(word);
    // Words of 23 letters, so the excerpt's 320 characters hold a cover of fewer than 30 words.
    const words: string[] = [];
    const gap = () =>
      EXCERPT_CHARS - (head.length - start + words.join(' ').length + 1 + other.length);
    while (gap() >= 33) words.push(filler(1, 23));
    words.push('j'.repeat(gap() - 1));
    const content = `${head}${words.join(' ')} ${other}ness ${filler(100)}`;
    expect(content.slice(start, start + EXCERPT_CHARS).endsWith(` ${other}`)).toBe(true);
    await engine.indexPost(document(`About ${other}`, content));

    const snippet = await search(`${other} ${word}`);

    expect(snippet).toContain(`<mark>${word}</mark>`);
    expect(snippet).not.toContain(`<mark>${other}</mark>`);
  });

  it('When the last word is a letter just typed, found everywhere, then the snippet is still taken around the other word', async () => {
    const word = uniqueWord('plover');
    // Filler words are letters a to j: many start with a d, none starts the query's word.
    const content = `${filler(3_000)} ${word} ${filler(1_000)}`;
    await engine.indexPost(document('Typing', content));

    const snippet = await search(`${word} d`);

    expect(snippet).toContain(`<mark>${word}</mark>`);
  });

  it('When markup lies deep inside, then the snippet escapes it there too', async () => {
    const word = uniqueWord('stilt');
    const content = `${filler(3_000)} ${word} </b> & "q" ${filler(1_000)}`;
    await engine.indexPost(document('Markup', content));

    const snippet = await search(word);

    expect(snippet).toContain(`<mark>${word}</mark> &lt;/b&gt; &amp; &quot;q&quot;`);
    expect(unmarked(snippet)).not.toMatch(/[<>"]/);
  });

  it('When a word occurs early alone and later next to the other, then the snippet is taken around the earliest occurrence', async () => {
    const first = uniqueWord('heron');
    const second = uniqueWord('egret');
    const content = `${first} ${filler(3_000)} ${first} ${second} ${filler(1_000)}`;
    await engine.indexPost(document('Twice', content));

    const snippet = await search(`${first} ${second}`);

    expect(snippet?.startsWith(`<mark>${first}</mark> `)).toBe(true);
    expect(snippet).not.toContain(second);
  });
});
