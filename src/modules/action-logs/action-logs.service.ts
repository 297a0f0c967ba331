import type { Dependencies } from '../../dependencies.ts';
import type { components, operations } from '../../generated/openapi.ts';
import { pickFilter } from './action-logs.filter.ts';
import { toActionLog } from './action-logs.mapper.ts';
import { findActionLogsBeside, hasActionLogBeyond } from './action-logs.repository.ts';

export type ActionLogPage = components['schemas']['ActionLogPage'];

export type ListQuery = NonNullable<operations['listActionLogs']['parameters']['query']>;

const DEFAULT_LIMIT = 20;

export function createActionLogsService(deps: Pick<Dependencies, 'db'>) {
  return {
    /**
     * One page, newest first. The query reads one row past the page to tell whether more lie
     * on the side it reads; the other side is one index probe from the page's nearest end
     * (from the cursor itself when the page is empty, which the cursor's own row lies beyond).
     */
    async list(query: ListQuery): Promise<ActionLogPage> {
      const db = deps.db.read;
      const filter = pickFilter(query);
      const page = { limit: query.limit ?? DEFAULT_LIMIT, cursor: query.cursor };
      // Without a cursor there is nothing newer than the newest page to read towards.
      const direction = page.cursor === undefined ? 'older' : (query.direction ?? 'older');
      const rows = await findActionLogsBeside(
        db,
        filter,
        { cursor: page.cursor, direction },
        page.limit + 1,
      );
      const more = rows.length > page.limit;
      const nearest = rows.slice(0, page.limit);
      const back = direction === 'older' ? 'newer' : 'older';
      const beyondBack =
        page.cursor === undefined
          ? false
          : nearest.length > 0
            ? await hasActionLogBeyond(db, filter, nearest[0]!.id, back, false)
            : await hasActionLogBeyond(db, filter, page.cursor, back, true);
      const data = (direction === 'older' ? nearest : nearest.reverse()).map(toActionLog);
      return direction === 'older'
        ? { data, has_older: more, has_newer: beyondBack }
        : { data, has_older: beyondBack, has_newer: more };
    },
  };
}

export type ActionLogsService = ReturnType<typeof createActionLogsService>;
