import { describe, expect, it } from 'vitest';
import { EXCERPT_TERMS, excerptPatterns, excerptTerms } from './postgres-tsquery.ts';

describe('excerptTerms', () => {
  it('When a query has more words than EXCERPT_TERMS, then the first ones are kept, as typed', () => {
    const words = ['Alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    expect(excerptTerms(words.join(', '))).toEqual(words.slice(0, EXCERPT_TERMS));
  });

  it('When a query has words of one or two characters, such as a prefix just begun, then they are not looked for', () => {
    expect(excerptTerms('go kubernetes d')).toEqual(['kubernetes']);
    expect(excerptTerms('d')).toEqual([]);
  });

  it('When a query uses web search syntax, then an excluded word or phrase and `or` are left out and a phrase gives its words', () => {
    expect(excerptTerms('alpha -beta OR "gamma delta"')).toEqual(['alpha', 'gamma', 'delta']);
    expect(excerptTerms('alpha -"beta gamma" delta')).toEqual(['alpha', 'delta']);
  });

  it('When a query has no letter or digit, then there is no word to look for', () => {
    expect(excerptTerms('"" -- ?')).toEqual([]);
  });
});

describe('excerptPatterns', () => {
  it('When a plain query ends in a word being typed, then that word may start a longer one and the others must be whole', () => {
    expect(excerptPatterns('Kubernetes ingr')).toEqual({
      words: String.raw`\m(?:Kubernetes\M|ingr)`,
      substrings: String.raw`\S*(?:Kubernetes|ingr)`,
    });
  });

  it('When the word being typed is too short to look for, or the query uses web search syntax, then every word must be whole', () => {
    expect(excerptPatterns('kubernetes in')?.words).toBe(String.raw`\m(?:kubernetes\M)`);
    expect(excerptPatterns('alpha "gamma delta"')?.words).toBe(
      String.raw`\m(?:alpha\M|gamma\M|delta\M)`,
    );
  });

  it('When the typed word is not among the first EXCERPT_TERMS words, then every word looked for is whole', () => {
    expect(excerptPatterns('alpha beta gamma delta')?.words).toBe(
      String.raw`\m(?:alpha\M|beta\M|gamma\M)`,
    );
  });

  it('When a query has no word to look for, then there is no pattern', () => {
    expect(excerptPatterns('"" -- ?')).toBeUndefined();
    expect(excerptPatterns('a b')).toBeUndefined();
  });
});
