import type { Knex } from 'knex';

// A query being typed ends in a prefix. GIN answers `polo:*` by expanding it to every lexeme
// that starts with it and merging their posting lists into a bitmap, which cannot skip ahead
// the way an AND of exact entries does: the short prefixes, matching many lexemes, cost most.
// Indexed as entries of their own, the first 2 to MAX_PREFIX characters of each lexeme turn such
// a prefix into one exact entry, ANDed with the query's whole words in one index scan. A longer
// prefix starts few lexemes, so the engine keeps the partial match for it. The engine's
// MAX_INDEXED_PREFIX must equal MAX_PREFIX.
const MAX_PREFIX = 6;
const INDEX = 'search_posts_document_prefixes_idx';

// Built concurrently, which cannot run in a transaction: on a large corpus the build takes
// minutes (about 35 s per 100,000 posts on 2 cores), and a plain build would hold every index
// job's write to search_posts for all of it. Each step can run again, so a migration that
// stopped half-way (a failed build leaves an invalid index) completes when it is run again.
export const config = { transaction: false };

/** Drops what a failed concurrent build of `name` left: an index PostgreSQL marked invalid. */
async function dropInvalidIndex(knex: Knex, name: string): Promise<void> {
  const { rows } = await knex.raw<{ rows: unknown[] }>(
    'select 1 from pg_index where indexrelid = to_regclass(?) and not indisvalid',
    [name],
  );
  if (rows.length > 0) await knex.raw('drop index concurrently ??', [name]);
}

export async function up(knex: Knex): Promise<void> {
  // A body in SQL-standard form is bound when it is created, so the index never depends on the
  // search_path of whoever writes a row.
  await knex.raw(`
    create or replace function search_prefixes(document tsvector) returns tsvector
    language sql immutable parallel safe strict
    return array_to_tsvector(array(
      select left(lexeme, n)
      from unnest(tsvector_to_array(document)) as lexeme,
        generate_series(2, least(char_length(lexeme), ${MAX_PREFIX})) as n
    ))`);
  // Without fastupdate every write merges into the index at once: a projection fed by index
  // jobs can afford that, while a pending list would be scanned whole by every search until a
  // vacuum flushed it. Built before the old index is dropped, so searches use one or the other
  // throughout.
  await dropInvalidIndex(knex, INDEX);
  await knex.raw(`
    create index concurrently if not exists ${INDEX} on search_posts
    using gin (document, search_prefixes(document)) with (fastupdate = off)`);
  await knex.raw('drop index concurrently if exists search_posts_document_idx');
}

export async function down(knex: Knex): Promise<void> {
  await dropInvalidIndex(knex, 'search_posts_document_idx');
  await knex.raw(
    'create index concurrently if not exists search_posts_document_idx on search_posts using gin (document)',
  );
  await knex.raw(`drop index concurrently if exists ${INDEX}`);
  await knex.raw('drop function if exists search_prefixes(tsvector)');
}
