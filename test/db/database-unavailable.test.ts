import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import express from 'express';
import knex from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/http/middleware/errors.ts';
import { createDatabase } from '../../src/shared/db/knex.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { isDatabaseUnavailable } from '../../src/shared/db/unavailable.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createCapturingLogger } from '../support/capturing-logger.ts';
import { freePort } from '../support/net.ts';
import { eventually } from '../support/wait.ts';

async function errorOf(url: string) {
  const response = await fetch(url);
  return { status: response.status, code: ((await response.json()) as { code: string }).code };
}

const UNAVAILABLE = { status: 503, code: 'system:dependency_unavailable' };

describe('a database that cannot be reached', () => {
  let app: TestApp;

  beforeAll(async () => {
    // Ports nothing listens on: every connection attempt is refused at once.
    const nowhere = async () => `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`;
    app = await startTestApp({ database: { url: await nowhere(), readUrl: await nowhere() } });
  });

  afterAll(() => app.close());

  it('When the read replica refuses connections, then reads from it answer 503 system:dependency_unavailable, not 500', async () => {
    expect(await errorOf(`${app.baseUrl}/v0/posts`)).toEqual(UNAVAILABLE);
    expect(await errorOf(`${app.baseUrl}/v0/action-logs`)).toEqual(UNAVAILABLE);
    expect(await errorOf(`${app.baseUrl}/v0/users/profile/id?user_id=${newId()}`)).toEqual(
      UNAVAILABLE,
    );
  });

  it('When the primary refuses connections, then reads from it answer 503 system:dependency_unavailable', async () => {
    expect(await errorOf(`${app.baseUrl}/v0/posts/${newId()}`)).toEqual(UNAVAILABLE);
  });
});

describe('isDatabaseUnavailable', () => {
  const url = process.env.DATABASE_URL!;
  // Pools of their own: right after a termination, pg may hand the dead connection out once
  // more before it has seen the socket close.
  const db = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, 'unavailable-test');
  const other = createDatabase({ url, readUrl: url, poolMax: 1, readPoolMax: 1 }, 'statement-test');

  afterAll(() => Promise.all([db.close(), other.close()]));

  it('When the server terminates the connection under a query, then the failure counts as unavailable', async () => {
    const sleeping = db.write.raw('select pg_sleep(30)').then(
      () => undefined,
      (error: unknown) => error,
    );
    // Terminated as a fast shutdown terminates every backend (SQLSTATE 57P01).
    await eventually(async () => {
      const result: { rows: unknown[] } = await db.read.raw(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'unavailable-test-write' and query like 'select pg_sleep%'`,
      );
      return result.rows.length > 0;
    });
    const error = await sleeping;
    expect((error as { code?: string }).code).toBe('57P01');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('When the connection is reset under a statement, in a transaction or not, then the failure counts as unavailable', async () => {
    const relay = await startResettingRelay(new URL(url));
    const viaRelay = relay.url(url);
    // A name of this run's own: the backends of a reset connection sleep on unseen.
    const name = `reset-${newId()}`;
    const reset = createDatabase(
      { url: viaRelay, readUrl: viaRelay, poolMax: 2, readPoolMax: 1 },
      name,
    );
    const sleeping = `from pg_stat_activity
      where application_name = '${name}-write' and query = 'select pg_sleep(30)'`;
    try {
      const caught = (error: unknown) => error;
      let inTransaction: Promise<unknown> | undefined;
      const query = reset.write.raw('select pg_sleep(30)').then(() => undefined, caught);
      const transaction = reset.write
        .transaction(async (trx) => {
          const statement = trx.raw('select pg_sleep(30)');
          inTransaction = statement.then(() => undefined, caught);
          await statement;
        })
        .then(() => undefined, caught);
      await eventually(async () => {
        const result: { rows: unknown[] } = await db.read.raw(`select 1 ${sleeping}`);
        return result.rows.length === 2;
      });
      relay.resetAll();
      const [queryError, statementError, transactionError] = await Promise.all([
        query,
        inTransaction,
        transaction,
      ]);
      for (const error of [queryError, statementError]) {
        expect((error as { code?: string }).code, String(error)).toBe('ECONNRESET');
        expect(isDatabaseUnavailable(error)).toBe(true);
      }
      // The transaction fails with that error or with its rollback's: the two race in knex.
      expect(isDatabaseUnavailable(transactionError)).toBe(true);
    } finally {
      relay.resetAll();
      await reset.close();
      await relay.close();
      await db.read.raw(`select pg_terminate_backend(pid) ${sleeping}`);
    }
  });

  it('When a statement itself fails, then the failure does not count as unavailable', async () => {
    const error: unknown = await other.write
      .raw('select * from no_such_table')
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('42P01');
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('When a statement fails with a SQLSTATE of its own whose message echoes a lost connection, then it does not count as unavailable', async () => {
    const invalid: unknown = await other.write
      .raw(`select 'Connection terminated'::int`)
      .catch((e: unknown) => e);
    expect((invalid as { code?: string }).code).toBe('22P02');
    expect((invalid as Error).message).toContain('Connection terminated');
    expect(isDatabaseUnavailable(invalid)).toBe(false);

    const table = `unavailable_unique_${newId().replaceAll('-', '')}`;
    await other.write.schema.createTable(table, (t) => t.integer('n').primary());
    try {
      await other.write(table).insert({ n: 1 });
      const duplicate: unknown = await other
        .write(table)
        .insert({ n: 1 })
        .catch((e: unknown) => e);
      expect((duplicate as { code?: string }).code).toBe('23505');
      expect(isDatabaseUnavailable(duplicate)).toBe(false);
    } finally {
      await other.write.schema.dropTable(table);
    }
  });

  it('When the pool times out because its connections are all held (a leak) while the database is healthy, then it does not count as unavailable', async () => {
    const leaky = createDatabase({ url, readUrl: url, poolMax: 1, readPoolMax: 1 }, 'leak-test');
    const held = await leaky.write.transaction();
    try {
      const error: unknown = await leaky.write.raw('select 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(knex.KnexTimeoutError);
      expect(isDatabaseUnavailable(error)).toBe(false);
    } finally {
      await held.rollback();
      await leaky.close();
    }
  }, 30_000);

  it('When the pool cannot open a connection, then the refusal counts as unavailable, and the same socket error from anything else does not', async () => {
    const port = await freePort();
    const nowhere = `postgres://postgres@127.0.0.1:${port}/nowhere`;
    const unreachable = createDatabase(
      { url: nowhere, readUrl: nowhere, poolMax: 1, readPoolMax: 1 },
      'refused-test',
    );
    try {
      const refused: unknown = await unreachable.write.raw('select 1').catch((e: unknown) => e);
      expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isDatabaseUnavailable(refused)).toBe(true);
    } finally {
      await unreachable.close();
    }

    // What a content-store or outbound HTTP client sees from a service that is not listening.
    const elsewhere = await new Promise<Error>((resolve) => {
      connect(port, '127.0.0.1').on('error', resolve);
    });
    expect((elsewhere as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(elsewhere)).toBe(false);
  });
});

/**
 * A TCP relay to the database whose client-side connections can be reset at once: what the
 * pool sees when a connection breaks under a statement without the server's goodbye.
 */
async function startResettingRelay(target: URL) {
  const clients = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    clients.add(client);
    client.pipe(upstream).pipe(client);
    client.on('close', () => {
      clients.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as AddressInfo;
  return {
    url(databaseUrl: string) {
      const via = new URL(databaseUrl);
      via.hostname = '127.0.0.1';
      via.port = String(port);
      return via.toString();
    },
    resetAll() {
      for (const client of clients) client.resetAndDestroy();
    },
    close: () => new Promise((resolve) => relay.close(resolve)),
  };
}

describe('logging a database outage', () => {
  it('When many requests fail because the database is out of reach, then the first is logged at error with its cause and the rest at warn, one line each without a stack', async () => {
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`;
    const db = createDatabase(
      { url: nowhere, readUrl: nowhere, poolMax: 1, readPoolMax: 1 },
      'outage-log-test',
    );
    const { logger, entries } = createCapturingLogger();
    const app = express();
    app.get('/query', async (_req, res) => {
      await db.write.raw('select 1');
      res.status(204).end();
    });
    app.use(errorHandler({ logger, exposeInternalDetails: false }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      for (let i = 0; i < 3; i += 1) {
        expect(await errorOf(`http://127.0.0.1:${port}/query`)).toEqual(UNAVAILABLE);
      }
      const logged = entries;
      expect(logged.map((e) => [e.level, e.message])).toEqual([
        ['error', 'database unavailable'],
        ['warn', 'request failed'],
        ['warn', 'request failed'],
      ]);
      expect(logged[0]).toHaveProperty('err');
      for (const entry of logged.slice(1)) {
        expect(entry).not.toHaveProperty('err');
        expect(entry.error).toContain('ECONNREFUSED');
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
    }
  });
});
