import knex from 'knex';
import type { Knex } from 'knex';
import pg from 'pg';
import type { SharedConfig } from '../../config/shared.ts';
import { watchConnectionFailures } from './unavailable.ts';

export interface Database {
  /** The primary: every write, and reads that must see the caller's own write. */
  write: Knex;
  /** The replica (or the primary when none is configured): reads that tolerate lag. */
  read: Knex;
  /** One round trip on each pool, for readiness: a dead replica fails reads as surely as a dead primary. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const INT8_OID = 20;

/**
 * count(*) and bigint come back from pg as strings to survive values past 2^53; the counts
 * this app reads stay far below that, so they are parsed as numbers. Per connection rather
 * than through pg's global type registry, so importing this module changes nothing.
 */
type TypeParser = (value: string) => unknown;

const types = {
  getTypeParser(oid: number, format: string): TypeParser {
    if (oid === INT8_OID && format !== 'binary') return (value) => Number(value);
    return pg.types.getTypeParser(oid, format === 'binary' ? 'binary' : 'text') as TypeParser;
  },
};

function pool(connectionString: string, max: number, name: string): Knex {
  const db = knex({
    client: 'pg',
    connection: { connectionString, types, application_name: name },
    // min 0: idle instances hold no connections, which matters with many replicas per database.
    pool: { min: 0, max },
    acquireConnectionTimeout: 10_000,
  });
  watchConnectionFailures(db);
  return db;
}

/** Pools connect lazily on the first query; nothing is opened here. */
export function createDatabase(config: SharedConfig['database'], name = 'expresskit'): Database {
  const write = pool(config.url, config.poolMax, `${name}-write`);
  const read = pool(config.readUrl, config.readPoolMax, `${name}-read`);
  return {
    write,
    read,
    async ping() {
      await Promise.all([write.raw('select 1'), read.raw('select 1')]);
    },
    async close() {
      await Promise.all([write.destroy(), read.destroy()]);
    },
  };
}
