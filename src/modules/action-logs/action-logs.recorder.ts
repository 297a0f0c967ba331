import type { Knex } from 'knex';
import type { Dependencies } from '../../dependencies.ts';
import { realtimeEventsSubject } from '../../shared/constants/jobs.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import { toActionLog, type ActionLog } from './action-logs.mapper.ts';
import {
  findActionLogPosition,
  insertActionLog,
  type NewActionLog,
} from './action-logs.repository.ts';

export type RecorderDependencies = Pick<Dependencies, 'db' | 'nats' | 'logger'>;

/**
 * What goes out on the subject: the entry and its place in the stream, a bigint as text. One
 * field more than the entry itself, so an instance still on code from before positions (in a
 * rolling deploy) reads it as the entry it always did.
 */
export type ActionLogAnnouncement = ActionLog & { position: string };

/**
 * Writes an action log in the caller's transaction and, once that transaction has committed,
 * publishes it for the event streams of every instance. Every domain records its changes
 * through this one function: the row is the data and stays even if the publish is lost, since
 * a stream replays from the table after `Last-Event-ID`; a rolled-back change publishes
 * nothing, so no client ever sees an event the table does not hold.
 *
 * With a plain pool the insert commits on its own and is published at once. Inside a
 * transaction the publish waits for its outcome; `withTransaction` joins an open transaction
 * rather than opening a savepoint, so that outcome is the real commit. The announcement
 * carries the position the commit gave the entry (see the action-log-positions migration),
 * read back from the primary: the streams deliver in that order.
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
  void announce(deps, log).catch((error: unknown) => {
    // Live clients miss the entry until a later one makes their instance read the gap, or
    // until their next replay.
    deps.logger.warn('action log not published', { id: log.id, error: String(error) });
  });
}

async function announce(deps: RecorderDependencies, log: ActionLog): Promise<void> {
  const position = await findActionLogPosition(deps.db.write, log.id);
  if (position === null) throw new Error('the committed entry has no position');
  const announcement: ActionLogAnnouncement = { ...log, position: position.toString() };
  deps.nats.publish(realtimeEventsSubject, JSON.stringify(announcement));
}
