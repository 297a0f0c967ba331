import type { components } from '../../generated/openapi.ts';
import type { IndexedSession } from './session/session.index.ts';

export type SessionInfo = components['schemas']['SessionInfo'];

export function toSessionInfo(session: IndexedSession, currentSessionId: string): SessionInfo {
  const { fields } = session;
  return {
    id: fields.public_id,
    created_at: new Date(fields.created_at).toISOString(),
    last_seen_at: new Date(fields.last_seen_at).toISOString(),
    user_agent: fields.user_agent,
    ip: fields.ip,
    is_current: session.sessionId === currentSessionId,
  };
}
