import { describe, expect, it } from 'vitest';
import { EXCERPT_TERMS, excerptTerms } from './postgres-tsquery.ts';

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
