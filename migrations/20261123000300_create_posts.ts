import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('posts', (t) => {
    t.uuid('id').primary();
    t.uuid('author_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('title').notNullable();
    // The body lives in the content bucket; the orphan-blob cron looks keys up here.
    t.text('storage_key').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Keyset pagination, newest first, globally and per author; id breaks created_at ties.
  await knex.raw('create index posts_created_at_id_idx on posts (created_at desc, id desc)');
  await knex.raw(
    'create index posts_author_created_at_id_idx on posts (author_id, created_at desc, id desc)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('posts');
}
