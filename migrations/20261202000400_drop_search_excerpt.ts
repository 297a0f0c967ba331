import type { Knex } from 'knex';
import { up as createSearchExcerpt } from './20261202000300_create_search_excerpt.ts';

// The search statement now takes a long post's excerpt itself, in a few expressions rather
// than a function call a hit, from the earliest query word where it is a word of the text (a
// regular expression) rather than wherever it occurs as a substring. A server still running
// the earlier statement calls search_excerpt, so from this migration until it is replaced its
// searches answer 502 search:query_failed; nothing else it serves is affected.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists search_excerpt(text, text[], int, int)');
}

export async function down(knex: Knex): Promise<void> {
  await createSearchExcerpt(knex);
}
