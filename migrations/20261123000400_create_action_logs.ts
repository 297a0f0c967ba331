import type { Knex } from 'knex';

// Frozen copy of the action catalogue at the time of this migration: adding an action needs
// a migration that widens the check, so a typo can never be stored.
const actions = [
  'user:create',
  'user:edit',
  'post:create',
  'post:edit',
  'post:delete',
  'auth:login',
  'auth:logout',
  'oauth:link',
  'oauth:unlink',
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('action_logs', (t) => {
    t.uuid('id').primary();
    t.text('action').notNullable().checkIn(actions, 'action_logs_action_check');
    // Logs outlive the accounts they mention: deleting a user keeps the history, anonymised.
    t.uuid('actor_id').references('id').inTable('users').onDelete('SET NULL');
    t.specificType('actor_ip', 'inet');
    t.enu('resource_type', ['user', 'post'], {
      useNative: true,
      enumName: 'action_resource_type',
    }).notNullable();
    t.uuid('resource_id').notNullable();
    t.text('summary').notNullable();
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // With SET NULL above, a row whose only actor is actor_id would block deleting that user,
    // so writers record actor_ip whenever a request is the source (which is always, today).
    t.check('actor_id is not null or actor_ip is not null', {}, 'action_logs_actor_present_check');
  });
  // Each filter of GET /v0/action-logs, paired with id for the newest-first keyset.
  await knex.raw('create index action_logs_actor_id_idx on action_logs (actor_id, id desc)');
  await knex.raw(
    'create index action_logs_resource_idx on action_logs (resource_type, resource_id, id desc)',
  );
  await knex.raw('create index action_logs_action_idx on action_logs (action, id desc)');
  // Retention cleanup deletes by age.
  await knex.raw('create index action_logs_created_at_idx on action_logs (created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('action_logs');
  await knex.raw('drop type action_resource_type');
}
