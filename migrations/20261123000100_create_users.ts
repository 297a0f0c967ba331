import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    // No default: ids are UUIDv7 made by the application (PostgreSQL 15 has no uuidv7()).
    t.uuid('id').primary();
    t.text('handle').notNullable();
    t.text('display_name').notNullable();
    t.text('bio');
    t.text('email').notNullable();
    t.text('password');
    t.timestamp('verified_at', { useTz: true });
    t.text('profile_image');
    t.text('banner_image');
    t.text('totp_secret');
    t.timestamp('totp_enabled_at', { useTz: true });
    t.specificType('totp_backup_codes', 'text[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Uniqueness is case-insensitive; lookups must use lower(...) to hit these indexes.
  await knex.raw('create unique index users_handle_lower_unique on users (lower(handle))');
  await knex.raw('create unique index users_email_lower_unique on users (lower(email))');
  // The cleanup cron deletes old unverified accounts.
  await knex.raw(
    'create index users_unverified_created_at_idx on users (created_at) where verified_at is null',
  );
  // Image replacement and the orphan-blob cron ask "does any other user reference this key?".
  await knex.raw(
    'create index users_profile_image_idx on users (profile_image) where profile_image is not null',
  );
  await knex.raw(
    'create index users_banner_image_idx on users (banner_image) where banner_image is not null',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
