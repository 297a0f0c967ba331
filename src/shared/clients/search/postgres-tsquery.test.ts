import { describe, expect, it } from 'vitest';
import { EXCERPT_TERMS, excerptPatterns, excerptWords } from './postgres-tsquery.ts';

const words = (q: string) => excerptWords(q).map(({ word }) => word);

describe('excerptWords', () => {
  it('When a query has more words than EXCERPT_TERMS, then the first ones are kept, as typed', () => {
    const typed = ['Alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    expect(words(typed.join(', '))).toEqual(typed.slice(0, EXCERPT_TERMS));
  });

  it('When a plain query ends in a word being typed, then that word is marked as typed', () => {
    expect(excerptWords('go kubernetes')).toEqual([
      { word: 'go', typed: false },
      { word: 'kubernetes', typed: true },
    ]);
  });

  it('When the word being typed has one or two characters, then it is left out beside other words, and kept alone', () => {
    expect(words('go kubernetes d')).toEqual(['go', 'kubernetes']);
    expect(excerptWords('db')).toEqual([{ word: 'db', typed: true }]);
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
  it('When a plain query ends in a word being typed, then a run of the text must start with it, and with each other word whole', () => {
    expect(excerptPatterns('Kubernetes ingr')).toEqual({
      words: String.raw`(?:^|\s)[[:punct:]]*(?:Kubernetes\M|ingr)`,
      substrings: String.raw`\S*(?:Kubernetes|ingr)`,
    });
  });

  it('When a query has short words, then they are looked for as words but not inside others', () => {
    expect(excerptPatterns('go kubernetes')).toEqual({
      words: String.raw`(?:^|\s)[[:punct:]]*(?:go\M|kubernetes)`,
      substrings: String.raw`\S*(?:kubernetes)`,
    });
    expect(excerptPatterns('db')).toEqual({
      words: String.raw`(?:^|\s)[[:punct:]]*(?:db)`,
      substrings: undefined,
    });
  });

  it('When the query uses web search syntax, then every word must be whole', () => {
    expect(excerptPatterns('alpha "gamma delta"')?.words).toBe(
      String.raw`(?:^|\s)[[:punct:]]*(?:alpha\M|gamma\M|delta\M)`,
    );
  });

  it('When the typed word is not among the first EXCERPT_TERMS words, then every word looked for is whole', () => {
    expect(excerptPatterns('alpha beta gamma delta')?.words).toBe(
      String.raw`(?:^|\s)[[:punct:]]*(?:alpha\M|beta\M|gamma\M)`,
    );
  });

  it('When a query has no word to look for, then there is no pattern', () => {
    expect(excerptPatterns('"" -- ?')).toBeUndefined();
  });
});
