import type { Knex } from 'knex';

// Where an action log stands in the event stream: given at commit, in commit order. An id is
// taken at the insert, inside the transaction, so two entries can commit in the other order
// than their ids; a stream replayed by id could then miss one or repeat another. The
// position is set by a deferred trigger that first takes a transaction-level advisory lock,
// held until the commit ends: the next committer gets the next position only once this one
// is visible, so when position n exists every lower one is decided (committed, or lost to a
// rollback as a gap). Action-log commits therefore take turns on that lock; they are human
// actions (logins, post edits), far below the rate a commit a time allows.
//
// It must stay the only deferred trigger in any transaction that writes an action log (no
// table has another today): one that fired after it and waited on a row the next committer
// holds would deadlock, and PostgreSQL would abort one of the two.

/** pg_advisory_xact_lock's key for the positions; any fixed number no other lock uses. */
const POSITION_LOCK = 7_316_204_118;

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create sequence action_logs_position_seq');
  await knex.raw('alter table action_logs add column position bigint');
  // Rows from before keep the order of their ids.
  await knex.raw(`
    update action_logs set position = numbered.position
    from (select id, row_number() over (order by id) as position from action_logs) as numbered
    where action_logs.id = numbered.id`);
  await knex.raw(`
    select setval('action_logs_position_seq', coalesce(max(position), 0) + 1, false)
    from action_logs`);
  await knex.raw('create unique index action_logs_position_idx on action_logs (position)');
  await knex.raw(`
    create function action_logs_assign_position() returns trigger language plpgsql
    set search_path from current as $$
    begin
      perform pg_advisory_xact_lock(${POSITION_LOCK});
      update action_logs set position = nextval('action_logs_position_seq') where id = new.id;
      return null;
    end $$`);
  await knex.raw(`
    create constraint trigger action_logs_position after insert on action_logs
    deferrable initially deferred for each row execute function action_logs_assign_position()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger action_logs_position on action_logs');
  await knex.raw('drop function action_logs_assign_position()');
  await knex.raw('alter table action_logs drop column position');
  await knex.raw('drop sequence action_logs_position_seq');
}
