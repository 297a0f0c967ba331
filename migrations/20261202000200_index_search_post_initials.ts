import type { Knex } from 'knex';

// The prefix index also holds each lexeme's first character, so that a query whose last word
// is a single letter (the state of every query the moment a space is typed) is an exact entry
// ANDed with its whole words too, where GIN would expand it to every lexeme it starts: about
// 25 ms against 2 on the bench corpus. The first 2 to 6 characters stay as they were, so a
// server still running the code before this migration reads the index as it did.
const MAX_PREFIX = 6;

// REINDEX CONCURRENTLY cannot run in a transaction; index jobs write on during the rebuild.
export const config = { transaction: false };

async function indexPrefixesFrom(knex: Knex, shortest: 1 | 2): Promise<void> {
  await knex.raw(`
    create or replace function search_prefixes(document tsvector) returns tsvector
    language sql immutable parallel safe strict
    return array_to_tsvector(array(
      select left(lexeme, n)
      from unnest(tsvector_to_array(document)) as lexeme,
        generate_series(${shortest}, least(char_length(lexeme), ${MAX_PREFIX})) as n
    ))`);
  // The entries already in the index were computed by the function as it was.
  await knex.raw('reindex index concurrently search_posts_document_prefixes_idx');
}

export async function up(knex: Knex): Promise<void> {
  await indexPrefixesFrom(knex, 1);
}

export async function down(knex: Knex): Promise<void> {
  await indexPrefixesFrom(knex, 2);
}
