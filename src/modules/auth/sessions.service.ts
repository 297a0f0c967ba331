import type { Dependencies } from '../../dependencies.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { deleteSessions, listIndexedSessions } from './session/session.index.ts';
import { toSessionInfo, type SessionInfo } from './sessions.mapper.ts';

type SessionsDependencies = Pick<Dependencies, 'redis'>;

export function createSessionsService(deps: SessionsDependencies) {
  const redis = deps.redis.session;
  return {
    /** The user's live sessions, most recently seen first. */
    async list(userId: string, currentSessionId: string): Promise<SessionInfo[]> {
      const sessions = await listIndexedSessions(redis, userId);
      return sessions
        .sort((a, b) => b.fields.last_seen_at - a.fields.last_seen_at)
        .map((session) => toSessionInfo(session, currentSessionId));
    },

    /** Ends one of the user's sessions by its public id; returns the real id that was ended. */
    async revoke(userId: string, publicId: string): Promise<string> {
      const sessions = await listIndexedSessions(redis, userId);
      const target = sessions.find((session) => session.fields.public_id === publicId);
      if (!target) throw new AppError('session:not_found', 'No such session');
      await deleteSessions(redis, userId, [target.sessionId]);
      return target.sessionId;
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
