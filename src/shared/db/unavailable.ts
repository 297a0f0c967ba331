import knex from 'knex';
import type { Knex } from 'knex';

/**
 * SQLSTATEs that say the server cannot serve anyone right now, not that this statement is
 * wrong: class 08 (connection exception) but 08P01, a protocol violation, which is a client
 * bug; 53300 (too many connections); 57P01–57P03 (shut down by an operator, crashed, or still
 * starting up).
 */
const UNAVAILABLE_SQLSTATE = /^(08(?!P01)[0-9A-Z]{3}|53300|57P0[1-3])$/;

/** The socket errors of a connection that cannot be opened or was cut. */
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * pg reports a connection that died under a query, or a client it had already given up on,
 * with a plain Error and no code; knex prefixes the statement to the message.
 */
const LOST_CONNECTION = /(Connection terminated|is not queryable)/;

/**
 * A pool whose last connection attempt failed less than this long ago is failing: a request
 * that timed out waiting for it waited on an outage. Longer than the acquire timeout (10 s), so
 * a request that began waiting when the attempt failed still counts it.
 */
const FAILING_WINDOW_MS = 60_000;

/**
 * The failures a database pool itself marked as an outage: a connection it could not open or
 * that broke under a statement (pg passes the socket's error on as it is, with a socket code
 * and nothing that says it came from pg, and the same codes from the content store or an
 * outbound call are no database outage), and an acquire timeout of a pool whose connection
 * attempts were failing.
 */
const outageErrors = new WeakSet<object>();

interface PoolEvents {
  on(event: 'createFail' | 'createSuccess', listener: () => void): void;
}

interface KnexClient {
  pool?: PoolEvents;
  acquireConnection(): Promise<unknown>;
}

const hasSocketCode = (error: Error) =>
  SOCKET_ERRORS.has(String((error as { code?: unknown }).code));

/**
 * Follows the connections of `db`'s pool, so its failures can be told apart. A connection reset
 * under a statement reaches knex's `query-error` event, transactions' statements included. knex
 * has no hook on a failed acquire, so this wraps the client's acquireConnection: knex is pinned
 * in package.json for it, and test/db/database-unavailable.test.ts fails when the wrap no longer
 * sees the pool's refused connections.
 */
export function watchConnectionFailures(db: Knex): void {
  db.on('query-error', (error: unknown) => {
    if (error instanceof Error && hasSocketCode(error)) outageErrors.add(error);
  });
  const client = db.client as KnexClient;
  let failedAt: number | undefined;
  client.pool?.on('createFail', () => {
    failedAt = Date.now();
  });
  client.pool?.on('createSuccess', () => {
    failedAt = undefined;
  });
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = async () => {
    try {
      return await acquire();
    } catch (error) {
      // Anything but a timeout is the error of the connection attempt the acquire waited on.
      const failing = failedAt !== undefined && Date.now() - failedAt < FAILING_WINDOW_MS;
      const outage = !(error instanceof knex.KnexTimeoutError) || failing;
      if (outage && typeof error === 'object' && error !== null) outageErrors.add(error);
      throw error;
    }
  };
}

/**
 * Whether a failed query failed because the database could not be reached (refused, cut,
 * shutting down, starting up, or no connection could be opened in time), which is a dependency
 * being unavailable (503), rather than the statement failing (500). A pool timeout while
 * connections open fine is exhaustion, a leak or an overload of our own, and stays a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof knex.KnexTimeoutError) return outageErrors.has(error);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  // pg's DatabaseError always carries a severity: its SQLSTATE is the whole answer, whatever
  // its message echoes back from the statement.
  if ('severity' in error && typeof code === 'string') return UNAVAILABLE_SQLSTATE.test(code);
  if (hasSocketCode(error)) return outageErrors.has(error);
  return LOST_CONNECTION.test(error.message);
}
