import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_oauth_connections', (t) => {
    t.uuid('id').primary();
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.enu('provider', ['google', 'github'], {
      useNative: true,
      enumName: 'oauth_provider',
    }).notNullable();
    t.text('provider_user_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['provider', 'provider_user_id']);
    // One account per provider per user; also serves "list my connections" by user_id.
    t.unique(['user_id', 'provider']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_oauth_connections');
  await knex.raw('drop type oauth_provider');
}
