import type { Dependencies } from '../../dependencies.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import { findById } from '../users/users.repository.ts';
import { deleteSessions, listIndexedSessions } from './session-index.ts';
import { toSessionInfo, type SessionInfo } from './sessions.mapper.ts';

type SessionsDependencies = Pick<Dependencies, 'db' | 'redis'>;

export function createSessionsService(deps: SessionsDependencies) {
  const redis = deps.redis.session;
  return {
    /**
     * The one user read of an authenticated request: it proves the user still exists and
     * hands the row to the handler. From the primary, so the owner always sees their own
     * writes and a user created a moment ago is not mistaken for a deleted one.
     */
    async signedInUser(userId: string): Promise<UserRow | undefined> {
      return findById(deps.db.write, userId);
    },

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
