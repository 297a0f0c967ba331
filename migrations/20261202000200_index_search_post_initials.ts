import type { Knex } from 'knex';

// The prefix index also holds each lexeme's first character, so that a query whose last word
// is a single letter (the state of every query the moment a space is typed) is an exact entry
// ANDed with its whole words too, where GIN would expand it to every lexeme it starts: about
// 25 ms against 2 on the bench corpus. The first 2 to 6 characters stay as they were, so a
// server still running the code before this migration reads the index as it did; the code
// after it finds nothing for a one-letter word until the rebuild is done, so migrations run
// before it serves (as docker-compose and scripts/dev.sh run them).
const MAX_PREFIX = 6;

// REINDEX CONCURRENTLY cannot run in a transaction; index jobs write on during the rebuild.
export const config = { transaction: false };

const INDEX = 'search_posts_document_prefixes_idx';

/**
 * A REINDEX CONCURRENTLY that failed leaves its copy behind, invalid (`…_ccnew`, or `…_ccold`
 * when it failed while dropping the old one): never read, yet updated by every write. Dropped
 * before a new attempt, so a rerun does not add another.
 */
async function dropFailedRebuilds(knex: Knex): Promise<void> {
  const { rows } = await knex.raw<{ rows: { name: string }[] }>(
    `select pg_class.relname as name from pg_index join pg_class on pg_class.oid = pg_index.indexrelid
     where pg_index.indrelid = to_regclass('search_posts') and not pg_index.indisvalid
       and starts_with(pg_class.relname, ?)`,
    [`${INDEX}_cc`],
  );
  for (const { name } of rows) await knex.raw('drop index concurrently ??', [name]);
}

// The function written out again, not imported from the earlier migration: a migration states
// the schema as of its own date, so a later edit elsewhere can never change what it did.
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
  await dropFailedRebuilds(knex);
  await knex.raw(`reindex index concurrently ${INDEX}`);
}

export async function up(knex: Knex): Promise<void> {
  await indexPrefixesFrom(knex, 1);
}

export async function down(knex: Knex): Promise<void> {
  await indexPrefixesFrom(knex, 2);
}
