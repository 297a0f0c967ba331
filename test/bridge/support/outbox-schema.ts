import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { createDatabase, type Database } from '../../../src/shared/db/knex.ts';

/**
 * An outbox table of the caller's own, in a fresh schema that its connections put first on
 * the search path. The test database's outbox is shared by every test file, and a relay
 * claims any pending row it sees: a private table keeps each test's rows away from other
 * relays (and other NATS servers) running at the same time.
 */
export interface PrivateOutbox {
  /** DATABASE_URL whose connections see the private outbox as `outbox`. */
  url: string;
  db: Database;
  pendingCount(): Promise<number>;
  drop(): Promise<void>;
}

export async function createPrivateOutbox(baseUrl: string): Promise<PrivateOutbox> {
  const schema = `outbox_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: baseUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`create schema ${schema}`);
    await admin.raw(`create table ${schema}.outbox (like public.outbox including all)`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = createDatabase(
    { url: url.href, readUrl: url.href, poolMax: 25, readPoolMax: 1 },
    'private-outbox',
  );
  return {
    url: url.href,
    db,
    async pendingCount() {
      const row = (await db.write('outbox').whereNull('sent_at').count({ n: '*' }).first()) as {
        n: number;
      };
      return row.n;
    },
    async drop() {
      await db.write.raw(`drop schema ${schema} cascade`);
      await db.close();
    },
  };
}
