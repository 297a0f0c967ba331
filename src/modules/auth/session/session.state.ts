import type { Request } from 'express';
import type { Session, SessionData } from 'express-session';
import type { RedisClient } from '../../../shared/clients/redis.ts';
import { requestContext } from '../../../shared/request-context.ts';
import type { UserSnapshot } from '../../users/user-snapshot.ts';
import type { SessionCookie } from './session.cookie.ts';
import type { SessionFields, SessionPolicy } from './session.policy.ts';

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

/** Everything the request helpers need, bound to each request by the session middleware. */
export interface SessionRuntime {
  policy: SessionPolicy;
  cookie: SessionCookie;
  redis: RedisClient;
  /** Marks the next save of this id as a creation; every other save only updates a live key. */
  expectNewSession(sessionId: string): void;
  /** The session's user, or undefined when the account no longer exists. */
  loadUser(userId: string): Promise<UserSnapshot | undefined>;
}

export interface RequestSessionState {
  runtime: SessionRuntime;
  /** The session passed its absolute lifetime on this request and was destroyed. */
  expired: boolean;
  /** The session store failed while loading the session. */
  storeError?: unknown;
  /** Set when the request came without a session cookie: express-session has not run yet. */
  startSession?: () => Promise<void>;
  authenticated?: Promise<Authenticated | undefined>;
}

export interface Authenticated {
  auth: AuthContext;
  /** Loaded by requireSession / optionalSession; a session established on this request has none. */
  user?: UserSnapshot;
}

/**
 * Where a request keeps its session state: a property of its own rather than a WeakMap entry,
 * which every request would add to a table the garbage collector has to sweep.
 */
const STATE = Symbol('session state');
type WithState = Request & { [STATE]?: RequestSessionState };

export function bindSessionRuntime(
  req: Request,
  runtime: SessionRuntime,
  loading: Pick<RequestSessionState, 'storeError' | 'startSession'>,
) {
  (req as WithState)[STATE] = { runtime, expired: false, ...loading };
}

/** Called when the session passed its absolute lifetime and was ended on this request. */
export function markSessionExpired(req: Request): void {
  stateOf(req).expired = true;
}

export function stateOf(req: Request): RequestSessionState {
  const state = (req as WithState)[STATE];
  if (!state) throw new Error('The session middleware is not mounted for this route');
  return state;
}

export type SignedInSession = Session & SessionData;

/** The request's session when it belongs to a user (every stored session does). */
export function signedInSession(req: Request): SignedInSession | undefined {
  const { session } = req;
  return session?.user_id ? (session as SignedInSession) : undefined;
}

export function setAuth(req: Request, auth: AuthContext | undefined): void {
  req.auth = auth;
  const context = requestContext.getStore();
  if (context) context.userId = auth?.userId;
}
