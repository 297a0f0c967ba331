import knex from 'knex';

/**
 * SQLSTATEs that say the server cannot serve anyone right now, not that this statement is
 * wrong: class 08 (connection exception), 53300 (too many connections), 57P01–57P03 (shut
 * down by an operator, crashed, or still starting up).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|53300|57P0[1-3])$/;

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
 * Whether a failed query failed because the database could not be reached (refused, cut,
 * shutting down, starting up, or the pool could not get a connection in time), which is a
 * dependency being unavailable (503), rather than the statement failing (500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof knex.KnexTimeoutError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || SOCKET_ERRORS.has(code))) {
    return true;
  }
  return LOST_CONNECTION.test(error.message);
}
