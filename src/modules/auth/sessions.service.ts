import type { Dependencies } from '../../dependencies.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { createUserSnapshotCache } from '../users/user-snapshot.cache.ts';
import type { UserSnapshot } from '../users/user-snapshot.ts';
import { deleteSessions, listIndexedSessions } from './session-index.ts';
import { toSessionInfo, type SessionInfo } from './sessions.mapper.ts';

type SessionsDependencies = Pick<Dependencies, 'db' | 'redis' | 'logger'>;

export function createSessionsService(deps: SessionsDependencies) {
  const redis = deps.redis.session;
  const snapshots = createUserSnapshotCache(deps);
  return {
    /**
     * The one user read of an authenticated request: it proves the user still exists and
     * hands the snapshot to the handler, from the cache when it holds one, else from the
     * primary, so a user created a moment ago is not mistaken for a deleted one.
     */
    async signedInUser(userId: string): Promise<UserSnapshot | undefined> {
      return snapshots.get(userId);
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
