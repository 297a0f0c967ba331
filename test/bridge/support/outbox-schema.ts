import { createPrivateTables, type PrivateTables } from '../../support/private-tables.ts';

/**
 * An outbox table of the caller's own. The test database's outbox is shared by every test
 * file, and a relay claims any pending row it sees: a private table keeps each test's rows
 * away from other relays (and other NATS servers) running at the same time.
 */
export interface PrivateOutbox extends PrivateTables {
  pendingCount(): Promise<number>;
}

/** Pooled for concurrent enqueuing transactions (the relay tests and the jobs bench). */
export async function createPrivateOutbox(baseUrl: string): Promise<PrivateOutbox> {
  const tables = await createPrivateTables(['outbox'], { baseUrl, poolMax: 25 });
  return {
    ...tables,
    async pendingCount() {
      const row = (await tables.db
        .write('outbox')
        .whereNull('sent_at')
        .count({ n: '*' })
        .first()) as { n: number };
      return row.n;
    },
  };
}
