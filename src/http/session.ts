import type { CookieOptions, Request, RequestHandler, Response } from 'express';
import type { Session, SessionData } from 'express-session';
import type { RedisClient } from '../shared/clients/redis.ts';
import { AppError } from '../shared/errors/app-error.ts';
import { requestContext } from '../shared/request-context.ts';
import { indexSession, unindexSessions } from '../modules/auth/session-index.ts';
import {
  newSessionFields,
  type SessionFields,
  type SessionPolicy,
} from '../modules/auth/session-record.ts';
import type { SessionSteps } from '../modules/auth/auth.service.ts';
import type { UserSnapshot } from '../modules/users/user-snapshot.ts';

declare module 'express-session' {
  // Declaration merging adds the app's fields to express-session's session type.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface SessionData extends SessionFields {}
}

/** Who the request is authenticated as; set by requireSession / optionalSession. */
export interface AuthContext {
  userId: string;
  /** The session's real id (the cookie's value); never shown to clients. */
  sessionId: string;
  /** The id listSessions shows and revokeSession takes. */
  publicId: string;
}

export interface SessionCookie {
  name: string;
  /** Attributes for clearing the cookie; they must match the ones it was set with. */
  options: CookieOptions;
}

/** Everything the helpers below need, bound to each request by the session middleware. */
export interface SessionRuntime {
  policy: SessionPolicy;
  cookie: SessionCookie;
  redis: RedisClient;
  /** Marks the next save of this id as a creation; every other save only updates a live key. */
  expectNewSession(sessionId: string): void;
  /** The session's user, or undefined when the account no longer exists. */
  loadUser(userId: string): Promise<UserSnapshot | undefined>;
}

interface RequestSessionState {
  runtime: SessionRuntime;
  /** The session passed its absolute lifetime on this request and was destroyed. */
  expired: boolean;
  /** The session store failed while loading the session. */
  storeError?: unknown;
  /** Set when the request came without a session cookie: express-session has not run yet. */
  startSession?: () => Promise<void>;
  authenticated?: Promise<Authenticated | undefined>;
}

interface Authenticated {
  auth: AuthContext;
  /** Loaded by requireSession / optionalSession; a session established on this request has none. */
  user?: UserSnapshot;
}

const states = new WeakMap<Request, RequestSessionState>();

export function bindSessionRuntime(
  req: Request,
  runtime: SessionRuntime,
  loading: Pick<RequestSessionState, 'storeError' | 'startSession'>,
) {
  states.set(req, { runtime, expired: false, ...loading });
}

/** Called when the session passed its absolute lifetime and was ended on this request. */
export function markSessionExpired(req: Request): void {
  stateOf(req).expired = true;
}

function stateOf(req: Request): RequestSessionState {
  const state = states.get(req);
  if (!state) throw new Error('The session middleware is not mounted for this route');
  return state;
}

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
async function endSession(req: Request, runtime: SessionRuntime): Promise<void> {
  const { session, sessionID } = req;
  if (!session) return;
  const userId = session.user_id;
  await promisify((done) => session.destroy(done));
  if (userId) await unindexSessions(runtime.redis, userId, [sessionID]);
}

export type SignedInSession = Session & SessionData;

/** The request's session when it belongs to a user (every stored session does). */
export function signedInSession(req: Request): SignedInSession | undefined {
  const { session } = req;
  return session?.user_id ? (session as SignedInSession) : undefined;
}

function setAuth(req: Request, auth: AuthContext | undefined): void {
  req.auth = auth;
  const context = requestContext.getStore();
  if (context) context.userId = auth?.userId;
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

/** Signing in on this request as the steps a service orders around its own writes. */
export function sessionSteps(
  req: Request,
  res: Response,
  input: { userId: string; rememberMe: boolean },
): SessionSteps {
  return {
    establish: () => establishSession(req, input),
    discard: () => destroyCurrentSession(req, res),
  };
}

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

/** Logs the request's session out: store, index and cookie. */
export async function destroyCurrentSession(req: Request, res: Response): Promise<void> {
  const state = stateOf(req);
  await endSession(req, state.runtime);
  res.clearCookie(state.runtime.cookie.name, state.runtime.cookie.options);
  state.authenticated = Promise.resolve(undefined);
  setAuth(req, undefined);
}
