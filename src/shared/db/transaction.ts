import type { Knex } from 'knex';

/** What repositories take as their first argument, so the service decides pool and transaction. */
export type Executor = Knex | Knex.Transaction;

/**
 * Runs `fn` in a transaction. When the executor already is one, `fn` joins it instead of
 * opening a savepoint, so a service can be composed into a caller's transaction unchanged.
 */
export async function withTransaction<T>(
  executor: Executor,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  if (isTransaction(executor)) return fn(executor);
  return executor.transaction(fn);
}

function isTransaction(executor: Executor): executor is Knex.Transaction {
  return executor.isTransaction === true;
}
