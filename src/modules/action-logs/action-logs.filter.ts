import type { ActionLogAction, ResourceType } from '../../shared/constants/actions.ts';
import type { ActionLog } from './action-logs.mapper.ts';

/** The filters of GET /v0/action-logs, which the event stream applies the same way. */
export interface ActionLogFilter {
  actor_id?: string;
  resource_type?: ResourceType;
  resource_id?: string;
  action?: ActionLogAction;
}

const FIELDS = ['actor_id', 'resource_type', 'resource_id', 'action'] as const;

/** Only the filter's own fields, so a query's other parameters never reach a WHERE clause. */
export function pickFilter(query: ActionLogFilter): ActionLogFilter {
  const filter: ActionLogFilter = {};
  for (const field of FIELDS) {
    if (query[field] !== undefined) Object.assign(filter, { [field]: query[field] });
  }
  return filter;
}

export function matchesFilter(filter: ActionLogFilter, log: ActionLog): boolean {
  return FIELDS.every((field) => filter[field] === undefined || filter[field] === log[field]);
}
