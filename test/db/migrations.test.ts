import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import knex from 'knex';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationSettings } from '../../knexfile.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { eventually } from '../support/wait.ts';

const tables = [
  'users',
  'user_oauth_connections',
  'posts',
  'action_logs',
  'outbox',
  'search_posts',
  'search_users',
];
const enumTypes = ['oauth_provider', 'action_resource_type'];

function databaseUrl(name: string): string {
  const url = new URL(process.env.DATABASE_URL ?? '');
  url.pathname = `/${name}`;
  return url.toString();
}

async function existingTables(db: Knex): Promise<string[]> {
  const rows = await db('pg_tables')
    .where({ schemaname: 'public' })
    .whereIn('tablename', tables)
    .pluck<string[]>('tablename');
  return rows.sort();
}

async function existingEnumTypes(db: Knex): Promise<string[]> {
  return db('pg_type').whereIn('typname', enumTypes).pluck<string[]>('typname');
}

// A throwaway database, so a full rollback never disturbs the shared test database.
describe('migrations', () => {
  const name = `expresskit_mig_${randomBytes(6).toString('hex')}`;
  let admin: Knex;
  let db: Knex;

  beforeAll(async () => {
    admin = knex({ client: 'pg', connection: databaseUrl('postgres'), pool: { min: 0, max: 1 } });
    await admin.raw('create database ??', [name]);
    db = knex({
      client: 'pg',
      connection: databaseUrl(name),
      pool: { min: 0, max: 2 },
      migrations: migrationSettings,
    });
  });

  afterAll(async () => {
    await db?.destroy();
    await admin?.raw('drop database if exists ?? with (force)', [name]);
    await admin?.destroy();
  });

  it('When migrated to latest, then every table and enum type exists', async () => {
    await db.migrate.latest();
    expect(await existingTables(db)).toEqual([...tables].sort());
    expect((await existingEnumTypes(db)).sort()).toEqual([...enumTypes].sort());
  });

  it('When a handle or email differs only in case, then the insert is refused', async () => {
    const user = { handle: 'CaseUser', display_name: 'Case', email: 'case@example.com' };
    await db('users').insert({ id: newId(), ...user });
    await expect(
      db('users').insert({ id: newId(), ...user, email: 'other@example.com', handle: 'caseuser' }),
    ).rejects.toThrow(/users_handle_lower_unique/);
    await expect(
      db('users').insert({ id: newId(), ...user, handle: 'other', email: 'CASE@example.com' }),
    ).rejects.toThrow(/users_email_lower_unique/);
  });

  it('When an action log has neither actor id nor IP, then the insert is refused', async () => {
    const log = {
      action: 'post:create',
      resource_type: 'post',
      resource_id: newId(),
      summary: 's',
    };
    await expect(db('action_logs').insert({ id: newId(), ...log })).rejects.toThrow(
      /action_logs_actor_present_check/,
    );
    await db('action_logs').insert({ id: newId(), ...log, actor_ip: '203.0.113.7' });
    await expect(
      db('action_logs').insert({
        id: newId(),
        ...log,
        action: 'post:explode',
        actor_ip: '203.0.113.7',
      }),
    ).rejects.toThrow(/action_logs_action_check/);
  });

  it('When a post is indexed for PostgreSQL search, then its tsvector is generated', async () => {
    const id = newId();
    await db('search_posts').insert({
      id,
      author_id: newId(),
      title: 'Generated',
      content: 'columns work',
    });
    const [row] = await db('search_posts')
      .where({ id })
      .select<{ document: string }[]>(db.raw('document::text as document'));
    expect(row?.document).toBe("'columns':2B 'generated':1A 'work':3B");
  });

  const prefixMigration = { name: '20261202000100_index_search_post_prefixes.ts' };
  const prefixIndex =
    'CREATE INDEX search_posts_document_prefixes_idx ON public.search_posts USING gin (document, search_prefixes(document)) WITH (fastupdate=off)';
  const searchIndexes = () =>
    db('pg_indexes')
      .where({ schemaname: 'public', tablename: 'search_posts' })
      .whereNot({ indexname: 'search_posts_pkey' })
      .pluck<string[]>('indexdef');
  const invalidIndexes = () =>
    db('pg_index')
      .join('pg_class', 'pg_class.oid', 'pg_index.indexrelid')
      .where('pg_index.indisvalid', false)
      .pluck<string[]>('pg_class.relname');

  it('When the prefix index is rolled back, then the document index is back and search_prefixes is gone; applied again, both are as before', async () => {
    const migration = prefixMigration;
    const prefixFunction = async () => {
      const { rows } = await db.raw<{ rows: { name: string | null }[] }>(
        "select to_regprocedure('search_prefixes(tsvector)')::text as name",
      );
      return rows[0]?.name;
    };

    await db.migrate.down(migration);
    expect(await searchIndexes()).toEqual([
      'CREATE INDEX search_posts_document_idx ON public.search_posts USING gin (document)',
    ]);
    expect(await prefixFunction()).toBeNull();

    await db.migrate.up(migration);
    expect(await searchIndexes()).toEqual([prefixIndex]);
    expect(await prefixFunction()).toBe('search_prefixes(tsvector)');
  });

  it('When a build of the prefix index failed half-way and left it invalid, then the migration run again builds it whole and completes', async () => {
    await db.migrate.down(prefixMigration);
    await db('search_posts').insert({ id: newId(), author_id: newId(), title: 'A', content: 'b' });
    // A concurrent build that fails leaves its index behind, marked invalid: here one whose
    // expression divides by zero on the table's first row.
    await expect(
      db.raw(
        'create index concurrently search_posts_document_prefixes_idx on search_posts ((1 / (length(title) - length(title))))',
      ),
    ).rejects.toThrow(/division by zero/);
    expect(await invalidIndexes()).toEqual(['search_posts_document_prefixes_idx']);

    await db.migrate.up(prefixMigration);

    expect(await searchIndexes()).toEqual([prefixIndex]);
    expect(await invalidIndexes()).toEqual([]);
    const [, pending] = (await db.migrate.list()) as [unknown[], unknown[]];
    expect(pending).toEqual([]);
  });

  it('When the prefix index is built while a write is in progress, then other writes to search_posts go on meanwhile', async () => {
    await db.migrate.down(prefixMigration);
    // Connections of their own: the migration holds the test pool's while it waits.
    const writers = knex({ client: 'pg', connection: databaseUrl(name), pool: { min: 0, max: 2 } });
    const row = () => ({ id: newId(), author_id: newId(), title: 'During', content: 'the build' });
    const inProgress = await writers.transaction();
    let migrated: Promise<unknown> | undefined;
    try {
      await inProgress('search_posts').insert(row());
      // The build waits for the write in progress to end, holding its lock on the table.
      migrated = db.migrate.up(prefixMigration);
      await eventually(async () => {
        const { rows } = await writers.raw<{ rows: unknown[] }>(
          "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%create index%'",
        );
        return rows.length > 0;
      }, 10_000);

      // A build that held writes off would keep this one waiting past the lock timeout.
      await writers.transaction(async (trx) => {
        await trx.raw("set local lock_timeout = '5s'");
        await trx('search_posts').insert(row());
      });
    } finally {
      if (!inProgress.isCompleted()) await inProgress.commit();
      await migrated;
      await writers.destroy();
    }
    expect(await searchIndexes()).toEqual([prefixIndex]);
    expect(await invalidIndexes()).toEqual([]);
  });

  it('When the one-letter prefixes are rolled back, then the index no longer finds a post by its first letter; applied again, even over a failed rebuild, it does', async () => {
    const migration = { name: '20261202000200_index_search_post_initials.ts' };
    const post = { id: newId(), author_id: newId(), title: 'Instrument', content: 'xylophone' };
    await db('search_posts').insert(post);
    /** What the index alone finds for the one-letter entry 'x'. */
    const foundByX = () =>
      db.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        return trx('search_posts')
          .whereRaw("search_prefixes(document) @@ 'x'::tsquery")
          .pluck<string[]>('id');
      });

    await db.migrate.down(migration);
    expect(await foundByX()).toEqual([]);
    expect(await invalidIndexes()).toEqual([]);

    // What a REINDEX CONCURRENTLY that failed leaves: its copy, invalid.
    await expect(
      db.raw(
        'create index concurrently search_posts_document_prefixes_idx_ccnew on search_posts ((1 / (length(title) - length(title))))',
      ),
    ).rejects.toThrow(/division by zero/);
    await db.migrate.up(migration);
    expect(await foundByX()).toEqual([post.id]);
    expect(await searchIndexes()).toEqual([prefixIndex]);
    expect(await invalidIndexes()).toEqual([]);
  });

  it('When the removal of search_excerpt is rolled back, then the function is back as its own migration makes it, and applied again, it is gone', async () => {
    const migration = { name: '20261202000300_create_search_excerpt.ts' };
    const removal = { name: '20261202000400_drop_search_excerpt.ts' };
    const excerptFunction = async () => {
      const { rows } = await db.raw<{ rows: { name: string | null }[] }>(
        "select to_regprocedure('search_excerpt(text, text[], int, int)')::text as name",
      );
      return rows[0]?.name;
    };
    const excerpt = async (content: string, lead: number) => {
      const { rows } = await db.raw<{ rows: { excerpt: string; has_term: boolean }[] }>(
        "select * from search_excerpt(?, array['Target'], 20, ?)",
        [content, lead],
      );
      return rows[0];
    };
    const long = 'one two three four five TARGET six seven eight nine';

    expect(await excerptFunction()).toBeNull();
    await db.migrate.down(removal);
    expect(await excerptFunction()).toBe('search_excerpt(text,text[],integer,integer)');
    expect(await excerpt(long, 5)).toEqual({ excerpt: 'five TARGET six seve', has_term: true });
    await db.migrate.down(migration);
    expect(await excerptFunction()).toBeNull();

    await db.migrate.up(migration);
    expect(await excerptFunction()).toBe('search_excerpt(text,text[],integer,integer)');
    expect(await excerpt('a short target', 5)).toEqual({
      excerpt: 'a short target',
      has_term: false,
    });
    // 20 characters from 5 before the word: "five" starts there, and is kept whole.
    expect(await excerpt(long, 5)).toEqual({ excerpt: 'five TARGET six seve', has_term: true });
    // From 3 before, the excerpt starts inside "five", which is dropped.
    expect(await excerpt(long, 3)).toEqual({ excerpt: 'TARGET six seven ', has_term: true });
    expect(await excerpt(long, 100)).toEqual({ excerpt: 'one two three four f', has_term: true });
    expect(await excerpt(long.replace('TARGET', 'other'), 5)).toEqual({
      excerpt: 'one two three four f',
      has_term: false,
    });
    // Inside a run longer than the lead with no whitespace, nothing is dropped, so not the
    // word either: the excerpt keeps the one character it was read from early.
    expect(await excerpt('one two three bbbbbbbbbbtarget and more words', 5)).toEqual({
      excerpt: 'bbbbbbtarget and more',
      has_term: true,
    });

    await db.migrate.up(removal);
    expect(await excerptFunction()).toBeNull();
  });

  it('When a migration process died holding the migration lock, then db:unlock frees it and migrations run again', async () => {
    await db('knex_migrations_lock').update({ is_locked: 1 });
    await expect(db.migrate.latest()).rejects.toThrow(/Migration table is already locked/);

    const output = execFileSync(process.execPath, ['scripts/db.ts', 'unlock'], {
      env: { ...process.env, DATABASE_URL: databaseUrl(name) },
      encoding: 'utf8',
    });

    expect(output).toBe('migration lock freed\n');
    expect(await db('knex_migrations_lock').pluck('is_locked')).toEqual([0]);
    await db.migrate.latest();
  });

  it('When rolled back entirely, then no table nor enum type remains', async () => {
    await db.migrate.rollback(undefined, true);
    expect(await existingTables(db)).toEqual([]);
    expect(await existingEnumTypes(db)).toEqual([]);
  });

  it('When migrated again after a full rollback, then every table exists again', async () => {
    await db.migrate.latest();
    expect(await existingTables(db)).toEqual([...tables].sort());
    const [, pending] = (await db.migrate.list()) as [unknown[], unknown[]];
    expect(pending).toEqual([]);
  });
});
