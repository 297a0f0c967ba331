import type { components } from '../../generated/openapi.ts';
import type { OAuthConnectionRow } from '../../shared/db/rows.ts';

export type OAuthConnection = components['schemas']['OAuthConnection'];

export function toOAuthConnection(row: OAuthConnectionRow): OAuthConnection {
  return { provider: row.provider, created_at: row.created_at.toISOString() };
}
