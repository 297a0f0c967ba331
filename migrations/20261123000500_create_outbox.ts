import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    // Also the JetStream Nats-Msg-Id, which is what makes a re-sent row a no-op.
    t.uuid('id').primary();
    t.text('subject').notNullable();
    t.jsonb('payload').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
  });
  // The relay polls pending rows oldest first; the partial index stays as small as the backlog.
  await knex.raw('create index outbox_pending_idx on outbox (created_at) where sent_at is null');
  // The cleanup cron deletes sent rows by age.
  await knex.raw('create index outbox_sent_at_idx on outbox (sent_at) where sent_at is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('outbox');
}
