import type { Request, RequestHandler } from 'express';
import { AppError } from '../../../shared/errors/app-error.ts';
import type { UserSnapshot } from '../../users/user-snapshot.ts';
import { endSession } from './session.lifecycle.ts';
import {
  setAuth,
  signedInSession,
  stateOf,
  type AuthContext,
  type Authenticated,
  type RequestSessionState,
} from './session.state.ts';

async function authenticate(
  req: Request,
  state: RequestSessionState,
): Promise<Authenticated | undefined> {
  const session = signedInSession(req);
  if (!session) return undefined;
  const user = await state.runtime.loadUser(session.user_id);
  // A session outlives nothing it belongs to: a deleted user's session is no session.
  if (!user) {
    await endSession(req, state.runtime);
    return undefined;
  }
  const auth = { userId: user.id, sessionId: req.sessionID, publicId: session.public_id };
  return { auth, user };
}

async function resolveAuth(req: Request): Promise<AuthContext | undefined> {
  const state = stateOf(req);
  state.authenticated ??= authenticate(req, state);
  const auth = (await state.authenticated)?.auth;
  setAuth(req, auth);
  return auth;
}

/** The caller of a route behind requireSession. */
export function currentAuth(req: Request): AuthContext {
  if (!req.auth) throw new Error('currentAuth() needs requireSession in front of the route');
  return req.auth;
}

/**
 * The signed-in user's snapshot as requireSession read it at the start of this request, so a
 * handler that needs the user reads it once, not twice.
 */
export async function signedInUser(req: Request): Promise<UserSnapshot> {
  const user = (await stateOf(req).authenticated)?.user;
  if (!user) throw new Error('signedInUser() needs requireSession in front of the route');
  return user;
}

/** Answers 401 without a valid session (auth:session_expired past its absolute lifetime). */
export const requireSession: RequestHandler = async (req, _res, next) => {
  const state = stateOf(req);
  if (state.storeError !== undefined) {
    throw new AppError('system:dependency_unavailable', 'The session store is unavailable', {
      cause: state.storeError,
    });
  }
  if (state.expired) {
    throw new AppError('auth:session_expired', 'The session has expired; log in again');
  }
  if (!(await resolveAuth(req))) {
    throw new AppError('auth:unauthorized', 'Authentication required');
  }
  next();
};

/** Sets req.auth when a valid session is present; the request goes on either way. */
export const optionalSession: RequestHandler = async (req, _res, next) => {
  const state = stateOf(req);
  // An unavailable store or an expired session makes the caller anonymous on public routes.
  if (state.storeError === undefined && !state.expired) await resolveAuth(req);
  next();
};
