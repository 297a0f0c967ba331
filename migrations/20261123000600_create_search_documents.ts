import type { Knex } from 'knex';

// The PostgreSQL search engine's own documents, fed by the index jobs exactly like a
// Meilisearch index would be: they are a projection, never read as the source of truth.
// The 'simple' configuration (no stemming, no stop words) because posts are in any language.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table search_posts (
      id uuid primary key,
      author_id uuid not null,
      title text not null,
      content text not null,
      updated_at timestamptz not null default now(),
      document tsvector generated always as (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', content), 'B')
      ) stored
    )`);
  await knex.raw('create index search_posts_document_idx on search_posts using gin (document)');

  await knex.raw(`
    create table search_users (
      id uuid primary key,
      handle text not null,
      display_name text not null,
      bio text,
      profile_image_url text,
      document tsvector generated always as (
        setweight(to_tsvector('simple', handle), 'A') ||
        setweight(to_tsvector('simple', display_name), 'A') ||
        setweight(to_tsvector('simple', coalesce(bio, '')), 'B')
      ) stored
    )`);
  await knex.raw('create index search_users_document_idx on search_users using gin (document)');
  // An empty user query lists everyone by handle.
  await knex.raw('create index search_users_handle_idx on search_users (lower(handle))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('search_users');
  await knex.schema.dropTable('search_posts');
}
