import type { components } from '../../generated/openapi.ts';
import type { ActionLogRow } from '../../shared/db/rows.ts';

export type ActionLog = components['schemas']['ActionLog'];

export function toActionLog(row: ActionLogRow): ActionLog {
  return {
    id: row.id,
    action: row.action,
    actor_id: row.actor_id,
    actor_ip: row.actor_ip,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    summary: row.summary,
    metadata: row.metadata,
    created_at: row.created_at.toISOString(),
  };
}
