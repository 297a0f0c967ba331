import { randomBytes } from 'node:crypto';

/**
 * mulberry32: a small seeded generator for a virtual user's choices (which operation, which
 * post, how long a body), so a seed fixes the mix of a run. What is written is random instead:
 * every run, and every scenario of one, writes words no earlier one wrote, so a search or a
 * read-back can never match another run's leftovers.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const word = () => randomBytes(5).toString('hex');
export const sentence = (words: number) => Array.from({ length: words }, word).join(' ');
