import { describe, expect, it } from 'vitest';
import { EXCERPT_TERMS, excerptPatterns, excerptWords } from './postgres-tsquery.ts';

const words = (q: string) => excerptWords(q).map(({ word }) => word);

describe('excerptWords', () => {
  it('When a query has more words than EXCERPT_TERMS, then the first ones are kept, as typed', () => {
    const typed = ['Alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    expect(words(typed.join(', '))).toEqual(typed.slice(0, EXCERPT_TERMS));
  });

  it('When a plain query ends in a word being typed, then that word is marked as typed', () => {
    expect(excerptWords('docker kubernetes')).toEqual([
      { word: 'docker', typed: false },
      { word: 'kubernetes', typed: true },
    ]);
  });

  it('When a query has words of one or two characters and longer ones, then only the longer ones are looked for; with none, the short ones', () => {
    expect(excerptWords('go kubernetes d')).toEqual([{ word: 'kubernetes', typed: false }]);
    expect(words('kubernetes in production')).toEqual(['kubernetes', 'production']);
    expect(excerptWords('db')).toEqual([{ word: 'db', typed: true }]);
    expect(words('"to be"')).toEqual(['to', 'be']);
  });

  it('When a query repeats a word, whatever its case, then it is looked for once and the next word takes the place', () => {
    expect(words('kubernetes Kubernetes pods')).toEqual(['kubernetes', 'pods']);
  });

  it('When `or` is a word of a plain query, then the word being typed is still its last, not the one before', () => {
    expect(excerptWords('and/or')).toEqual([{ word: 'and', typed: false }]);
  });

  it('When a query uses web search syntax, then no word is being typed, an excluded word or phrase and `or` are left out and a phrase gives its words', () => {
    expect(excerptWords('alpha -beta OR "gamma delta"')).toEqual([
      { word: 'alpha', typed: false },
      { word: 'gamma', typed: false },
      { word: 'delta', typed: false },
    ]);
    expect(words('alpha -"beta gamma" delta')).toEqual(['alpha', 'delta']);
  });

  it('When a query has no letter or digit, then there is no word to look for', () => {
    expect(excerptWords('"" -- ?')).toEqual([]);
  });
});

describe('excerptPatterns', () => {
  const START = '(^|[^[:alnum:]_.@/])';
  const END = '(?![[:alnum:]_]|[.@/][[:alnum:]])';

  it('When a plain query ends in a word being typed, then a word of the text must start with it, and be each other word whole', () => {
    expect(excerptPatterns('Kubernetes ingr')).toEqual({
      words: `${START}(Kubernetes${END}|ingr)`,
      substrings: String.raw`\S*(?:Kubernetes|ingr)`,
    });
  });

  it('When a query has only short words, then they are looked for as words but not inside others', () => {
    expect(excerptPatterns('db')).toEqual({ words: `${START}(db)`, substrings: undefined });
  });

  it('When the query uses web search syntax, then every word must be whole', () => {
    expect(excerptPatterns('alpha "gamma delta"')?.words).toBe(
      `${START}(alpha${END}|gamma${END}|delta${END})`,
    );
  });

  it('When the typed word is not among the first EXCERPT_TERMS words, then every word looked for is whole', () => {
    expect(excerptPatterns('alpha beta gamma delta')?.words).toBe(
      `${START}(alpha${END}|beta${END}|gamma${END})`,
    );
  });

  it('When a query has no word to look for, then there is no pattern', () => {
    expect(excerptPatterns('"" -- ?')).toBeUndefined();
  });
});
