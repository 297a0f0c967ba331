import type { Knex } from 'knex';
import type { Dependencies } from '../../dependencies.ts';
import { realtimeEventsSubject } from '../../shared/constants/jobs.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import { toActionLog, type ActionLog } from './action-logs.mapper.ts';
import { insertActionLog, type NewActionLog } from './action-logs.repository.ts';

export type RecorderDependencies = Pick<Dependencies, 'nats' | 'logger'>;

/**
 * Writes an action log in the caller's transaction and, once that transaction has committed,
 * publishes it for the event streams of every instance. Every domain records its changes
 * through this one function: the row is the data and stays even if the publish is lost, since
 * a stream replays from the table after `Last-Event-ID`; a rolled-back change publishes
 * nothing, so no client ever sees an event the table does not hold.
 *
 * With a plain pool the insert commits on its own and is published at once. Inside a
 * transaction the publish waits for its outcome; `withTransaction` joins an open transaction
 * rather than opening a savepoint, so that outcome is the real commit.
 */
export async function recordAction(
  deps: RecorderDependencies,
  executor: Executor,
  entry: NewActionLog,
): Promise<ActionLog> {
  const log = toActionLog(await insertActionLog(executor, entry));
  if (!executor.isTransaction) {
    publish(deps, log);
  } else {
    (executor as Knex.Transaction).executionPromise.then(
      () => publish(deps, log),
      // Rolled back: the caller sees the error; there is nothing to announce.
      () => undefined,
    );
  }
  return log;
}

function publish(deps: RecorderDependencies, log: ActionLog): void {
  try {
    deps.nats.publish(realtimeEventsSubject, JSON.stringify(log));
  } catch (error) {
    // A closed connection throws; live clients miss the event and get it on their next replay.
    deps.logger.warn('action log not published', { id: log.id, error: String(error) });
  }
}
