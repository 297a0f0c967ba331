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
 * Shorter words are looked for only when the query has no longer one: "in", "a" or a letter
 * just typed start or make words almost anywhere, and would pull the excerpt to the post's
 * beginning, away from the query's real words.
 */
const EXCERPT_TERM_MIN_LENGTH = 3;

const isLong = (word: string) => [...word].length >= EXCERPT_TERM_MIN_LENGTH;

/** What web search syntax excludes: `-word` and `-"a phrase"`. */
const EXCLUDED = /(^|\s)-("[^"]*"?|\S*)/g;

/**
 * The words whose earliest occurrence a long post's snippet is taken from: the query's first
 * few, each once, leaving out what web search syntax excludes and its `or`. `typed` marks the
 * word still being typed: the last of a plain query, which matches the words it starts.
 */
export function excerptWords(q: string): { word: string; typed: boolean }[] {
  const plain = !WEB_SEARCH_SYNTAX.test(q);
  const all = wordsOf(q.replace(EXCLUDED, ' ')) ?? [];
  const words = plain ? all : all.filter((w) => w.toLowerCase() !== 'or');
  const seen = new Set<string>();
  const distinct = words
    .map((word, i) => ({ word, typed: plain && i === words.length - 1 }))
    .filter(({ word }) => {
      const key = word.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const long = distinct.filter(({ word }) => isLong(word));
  return (long.length > 0 ? long : distinct).slice(0, EXCERPT_TERMS);
}

/**
 * A word of the text starts after any character but a letter, a digit or `_`, and ends before
 * one. Not after or before `.`, `@` or `/` followed by more: the parser reads "Node.js",
 * "john@example.com" and "src/index.ts" each as one token (a file, an address, a path), so
 * the words in them are no lexemes there, and an excerpt from one of them would hold no match.
 */
const WORD_START = '(^|[^[:alnum:]_.@/])';
const WORD_END = '(?![[:alnum:]_]|[.@/][[:alnum:]])';

/**
 * Where a long post's excerpt is taken from, as PostgreSQL regular expressions matched
 * without regard to case. `words` finds an excerpt word where it is a word of the text: group
 * 1 is what precedes it, nothing at the start of the text, and group 2 the word itself,
 * whole, or the start of one for the word being typed. `substrings`
 * finds where a run of non-space characters holding one anywhere starts, for the words the
 * parser splits off where `words` sees none (after `_`, after digits read as a number); from
 * the run's start, the excerpt never starts inside a word, whose end could pass for a match.
 * The words hold letters and digits only, so nothing in them is syntax.
 */
export interface ExcerptPatterns {
  words: string;
  substrings: string | undefined;
}

export function excerptPatterns(q: string): ExcerptPatterns | undefined {
  const words = excerptWords(q);
  if (words.length === 0) return undefined;
  const alternatives = words.map(({ word, typed }) => (typed ? word : `${word}${WORD_END}`));
  // excerptWords gives short words only when the query has no longer one.
  const long = isLong(words[0]!.word);
  return {
    words: `${WORD_START}(${alternatives.join('|')})`,
    substrings: long ? `\\S*(?:${words.map(({ word }) => word).join('|')})` : undefined,
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
