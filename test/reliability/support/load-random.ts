import { randomBytes } from 'node:crypto';

/**
 * A virtual user's choices (which operation, which post, how long a body) come from
 * test/support/seeded-random.ts, so a seed fixes the mix of a run. What is written is random instead:
 * every run, and every scenario of one, writes words no earlier one wrote, so a search or a
 * read-back can never match another run's leftovers.
 */
export const word = () => randomBytes(5).toString('hex');
export const sentence = (words: number) => Array.from({ length: words }, word).join(' ');
