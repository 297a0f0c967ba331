import type { Knex } from 'knex';

/**
 * Prefixes of 1 up to this many characters are entries of the posts' prefix index: equal to
 * MAX_PREFIX in the search-post-prefixes and search-post-initials migrations.
 */
export const MAX_INDEXED_PREFIX = 6;

/** Web search syntax (phrases, exclusions, `or`): the query is meant as written, not as typed so far. */
const WEB_SEARCH_SYNTAX = /"|(^|\s)-|(^|\s)or(\s|$)/i;

/**
 * Letters and digits only, so user input can never become tsquery syntax. Left in their case:
 * the 'simple' configuration lower-cases them as it lower-cased the documents, which
 * JavaScript's toLowerCase does not always do alike (a final capital sigma, a dotted capital I).
 */
const wordsOf = (q: string) => q.match(/[\p{L}\p{N}]+/gu);

/**
 * A word the 'simple' parser keeps whole, as one lexeme of as many characters. Others it may
 * split, at a character that is neither a letter nor a decimal digit ("H₂O" is h and o) or
 * after digits read as a number ("1e5abc" is 1e5 and abc). Last, such a word is no single
 * prefix entry; before the last, its phrase would have every match rechecked, computing
 * search_prefixes again. A query with one keeps the partial match.
 */
const ONE_LEXEME = /^(\p{L}[\p{L}\p{Nd}]*|\p{Nd}+)$/u;

function takesPrefixIndex(words: string[], last: string): boolean {
  return (
    [...last].length <= MAX_INDEXED_PREFIX && [...words, last].every((w) => ONE_LEXEME.test(w))
  );
}

/** How many of a query's words a long post's excerpt looks for (excerptPatterns). */
export const EXCERPT_TERMS = 3;

/**
 * A word being typed that is shorter than this is not looked for beside other words: a letter
 * or two just typed starts words almost anywhere, and would pull the excerpt away from the
 * query's real words. Nor is a shorter word looked for inside other words, where it occurs
 * almost anywhere too.
 */
const EXCERPT_TERM_MIN_LENGTH = 3;

/** What web search syntax excludes: `-word` and `-"a phrase"`. */
const EXCLUDED = /(^|\s)-("[^"]*"?|\S*)/g;

/**
 * The words whose earliest occurrence a long post's snippet is taken from: the query's first
 * few, leaving out what web search syntax excludes and its `or`, and a short word still being
 * typed after others. `typed` marks the word still being typed: the last of a plain query,
 * which matches the words it starts.
 */
export function excerptWords(q: string): { word: string; typed: boolean }[] {
  const plain = !WEB_SEARCH_SYNTAX.test(q);
  const words = (wordsOf(q.replace(EXCLUDED, ' ')) ?? []).filter((w) => w.toLowerCase() !== 'or');
  const typed = plain ? words.length - 1 : -1;
  return words
    .map((word, i) => ({ word, typed: i === typed }))
    .filter(
      ({ word, typed }) =>
        !typed || words.length === 1 || [...word].length >= EXCERPT_TERM_MIN_LENGTH,
    )
    .slice(0, EXCERPT_TERMS);
}

/**
 * Where a long post's excerpt is taken from, as PostgreSQL regular expressions matched
 * without regard to case; each finds where a run of non-space characters starts, so the
 * excerpt never starts inside a word the parser reads whole (a URL, a path, an address),
 * whose end could pass for a match. `words` finds a run that is an excerpt word, but for
 * punctuation before it: whole, or the start of one for the word being typed. `substrings`
 * finds a run that holds one anywhere, for the words the parser splits off where a regular
 * expression sees none (after `_`, after digits read as a number). The words hold letters
 * and digits only, so nothing in them is syntax.
 */
export interface ExcerptPatterns {
  words: string;
  substrings: string | undefined;
}

export function excerptPatterns(q: string): ExcerptPatterns | undefined {
  const words = excerptWords(q);
  if (words.length === 0) return undefined;
  const whole = words.map(({ word, typed }) => (typed ? word : `${word}\\M`));
  const long = words
    .map(({ word }) => word)
    .filter((word) => [...word].length >= EXCERPT_TERM_MIN_LENGTH);
  return {
    words: `(?:^|\\s)[[:punct:]]*(?:${whole.join('|')})`,
    substrings: long.length > 0 ? `\\S*(?:${long.join('|')})` : undefined,
  };
}

/** A prefix query over every word of q, so "ali" finds "alice" while typing. */
export function prefixTsquery(q: string): string | undefined {
  const words = wordsOf(q);
  return words ? words.map((w) => `${w}:*`).join(' & ') : undefined;
}

export interface PostsTsqueries {
  /**
   * Which of the statement's forms these make: each form is one SQL text whatever the words,
   * so the engine prepares each once per connection, under this name.
   */
  form: 'websearch' | 'typed' | 'prefix' | 'words_and_prefix';
  /**
   * What ranks and highlights, and what matches when `prefix` is absent: websearch_to_tsquery
   * for web search syntax; otherwise the words with the last one as a prefix, the word still
   * being typed, as Meilisearch treats a query (a prefix on every word would make each short
   * one match a large part of the corpus for nothing).
   */
  query: Knex.Raw;
  /**
   * For a plain query whose last word has at most MAX_INDEXED_PREFIX characters: that word as one
   * exact lexeme, for search_prefixes(document), and the other words, if any, for the document.
   * Together they match what `query` matches, from exact index entries only.
   */
  prefix?: Knex.Raw;
  words?: Knex.Raw;
}

export function postsTsqueries(db: Knex, q: string): PostsTsqueries {
  const words = WEB_SEARCH_SYNTAX.test(q) ? null : wordsOf(q);
  if (!words) {
    return { form: 'websearch', query: db.raw("websearch_to_tsquery('simple', ?)", [q]) };
  }
  const last = words.pop()!;
  const query = db.raw("to_tsquery('simple', ?)", [[...words, `${last}:*`].join(' & ')]);
  if (!takesPrefixIndex(words, last)) return { form: 'typed', query };
  // plainto_tsquery reads no syntax at all and normalises the word as the documents were.
  const prefix = db.raw("plainto_tsquery('simple', ?)", [last]);
  if (words.length === 0) return { form: 'prefix', query, prefix };
  return {
    form: 'words_and_prefix',
    query,
    prefix,
    words: db.raw("to_tsquery('simple', ?)", [words.join(' & ')]),
  };
}
