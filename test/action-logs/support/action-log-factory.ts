import type { Dependencies } from '../../../src/dependencies.ts';
import type { ActionLog } from '../../../src/modules/action-logs/action-logs.mapper.ts';
import { recordAction } from '../../../src/modules/action-logs/action-logs.recorder.ts';
import {
  insertActionLog,
  type NewActionLog,
} from '../../../src/modules/action-logs/action-logs.repository.ts';
import { newId } from '../../../src/shared/db/ids.ts';
import type { Executor } from '../../../src/shared/db/transaction.ts';

/** An entry whose cause does not matter: an edit of a post of its own unless told otherwise. */
export const actionLogEntry = (overrides: Partial<NewActionLog> = {}): NewActionLog => ({
  action: 'post:edit',
  actor_id: null,
  actor_ip: '203.0.113.9',
  resource_type: 'post',
  resource_id: newId(),
  summary: 'Edited a post',
  ...overrides,
});

/**
 * Records an action log the way every domain does (row, then publish to every instance's
 * streams), about a post of its own unless told otherwise. Tests use it for entries whose
 * cause does not matter, or in numbers no sequence of requests could produce quickly.
 */
export function recordLog(
  deps: Pick<Dependencies, 'db' | 'nats' | 'logger'>,
  overrides: Partial<NewActionLog> = {},
): Promise<ActionLog> {
  return recordAction(deps, deps.db.write, actionLogEntry(overrides));
}

/** Writes and commits an entry without announcing it, as when its publish is lost. */
export function writeUnannouncedLog(executor: Executor, overrides: Partial<NewActionLog> = {}) {
  return insertActionLog(executor, actionLogEntry(overrides));
}

/** Records `count` entries one after another (so their ids ascend), oldest first. */
export async function recordLogs(
  deps: Pick<Dependencies, 'db' | 'nats' | 'logger'>,
  count: number,
  overrides: Partial<NewActionLog> = {},
): Promise<ActionLog[]> {
  const logs: ActionLog[] = [];
  for (let i = 0; i < count; i += 1) {
    logs.push(await recordLog(deps, { summary: `Entry ${i}`, ...overrides }));
  }
  return logs;
}
