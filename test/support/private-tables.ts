import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';

export interface PrivateTables {
  /** DATABASE_URL whose connections see the copies first. */
  url: string;
  db: Database;
  drop(): Promise<void>;
}

/**
 * Copies of the given tables in a fresh schema first on the search path of the returned
 * database: a cron job's deletes or a relay's claims then see only this test's rows, and
 * other test files' rows (and relays polling the shared outbox) never meet them. Copies
 * keep indexes and checks but not foreign keys.
 */
export async function createPrivateTables(
  tables: readonly string[],
  options: { baseUrl?: string; poolMax?: number } = {},
): Promise<PrivateTables> {
  const baseUrl = options.baseUrl ?? process.env.DATABASE_URL ?? '';
  const schema = `private_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: baseUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`create schema ${schema}`);
    for (const table of tables) {
      await admin.raw(`create table ${schema}.${table} (like public.${table} including all)`);
    }
  } finally {
    await admin.destroy();
  }
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema},public`);
  const poolMax = options.poolMax ?? 2;
  const db = createDatabase({ url: url.href, readUrl: url.href, poolMax, readPoolMax: 1 });
  return {
    url: url.href,
    db,
    async drop() {
      await db.write.raw(`drop schema ${schema} cascade`);
      await db.close();
    },
  };
}
