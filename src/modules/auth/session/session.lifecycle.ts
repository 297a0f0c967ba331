import type { Request, Response } from 'express';
import { AppError } from '../../../shared/errors/app-error.ts';
import type { SessionSteps } from '../auth.service.ts';
import { indexSession, unindexSessions } from './session.index.ts';
import { newSessionFields } from './session.policy.ts';
import { setAuth, stateOf, type SessionRuntime } from './session.state.ts';

/** express-session's Session methods take node-style callbacks. */
const promisify = (run: (done: (error?: Error) => void) => void) =>
  new Promise<void>((resolve, reject) => {
    run((error) => (error ? reject(error) : resolve()));
  });

function liveSession(req: Request) {
  const { session } = req;
  if (!session) {
    throw new AppError('system:dependency_unavailable', 'The session store is unavailable');
  }
  return session;
}

/**
 * Deletes the request's session from the store and the user's index, and forgets it for the
 * rest of the request so express-session writes nothing back.
 */
export async function endSession(req: Request, runtime: SessionRuntime): Promise<void> {
  const { session, sessionID } = req;
  if (!session) return;
  const userId = session.user_id;
  await promisify((done) => session.destroy(done));
  if (userId) await unindexSessions(runtime.redis, userId, [sessionID]);
}

/**
 * Signs the user in on this request: a new session id (the old session, if any, is destroyed,
 * so a planted id cannot be fixated), fresh session data, the per-user index entry and the
 * cookie, which lasts for the browser session unless `rememberMe` asks for the absolute
 * lifetime.
 */
export async function establishSession(
  req: Request,
  input: { userId: string; rememberMe: boolean },
): Promise<void> {
  const state = stateOf(req);
  const { runtime } = state;
  if (!req.session && state.startSession) await state.startSession();
  const previous = liveSession(req);
  const previousUserId = previous.user_id;
  const previousId = req.sessionID;
  await promisify((done) => previous.regenerate(done));
  if (previousUserId) await unindexSessions(runtime.redis, previousUserId, [previousId]);

  const session = liveSession(req);
  const fields = newSessionFields(runtime.policy, Date.now(), {
    userId: input.userId,
    rememberMe: input.rememberMe,
    userAgent: req.get('user-agent') ?? null,
    ip: req.ip ?? null,
  });
  Object.assign(session, fields);
  if (input.rememberMe) session.cookie.expires = new Date(fields.max_expires_at);
  // Indexed before it is stored: a session that fails to save leaves an entry that is pruned,
  // never a stored session that revocation cannot find.
  await indexSession(runtime.redis, input.userId, req.sessionID, fields);
  runtime.expectNewSession(req.sessionID);
  await promisify((done) => session.save(done));

  const auth = { userId: input.userId, sessionId: req.sessionID, publicId: fields.public_id };
  state.expired = false;
  state.authenticated = Promise.resolve({ auth });
  setAuth(req, auth);
}

/** Logs the request's session out: store, index and cookie. */
export async function destroyCurrentSession(req: Request, res: Response): Promise<void> {
  const state = stateOf(req);
  await endSession(req, state.runtime);
  res.clearCookie(state.runtime.cookie.name, state.runtime.cookie.options);
  state.authenticated = Promise.resolve(undefined);
  setAuth(req, undefined);
}

/** Signing in on this request as the steps a service orders around its own writes. */
export function sessionSteps(
  req: Request,
  res: Response,
  input: { userId: string; rememberMe: boolean },
): SessionSteps {
  return {
    establish: () => establishSession(req, input),
    async discard() {
      try {
        await destroyCurrentSession(req, res);
      } finally {
        // Even when the store could not be reached, express-session must not send this
        // session's cookie with the error response: with no session it writes none.
        delete (req as { session?: unknown }).session;
      }
    },
  };
}
