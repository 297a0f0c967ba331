import type { NextFunction, Request, Response } from 'express';
import session from 'express-session';
import type { Dependencies } from '../../../dependencies.ts';
import { createUserSnapshotCache } from '../../users/user-snapshot.cache.ts';
import { completeSessionCookie, sessionCookie } from './session.cookie.ts';
import { indexSession } from './session.index.ts';
import { destroyCurrentSession } from './session.lifecycle.ts';
import {
  LAST_SEEN_GRANULARITY_MS,
  isPastLifetime,
  newSessionId,
  refreshedExpiry,
  sessionPolicy,
} from './session.policy.ts';
import {
  bindSessionRuntime,
  markSessionExpired,
  signedInSession,
  type SessionRuntime,
} from './session.state.ts';
import { SessionStore } from './session.store.ts';

/**
 * The session pipeline for /v0 routes: express-session on the session Redis, then the rules
 * express-session does not have: absolute lifetime, threshold-based sliding refresh and
 * last-seen tracking. Who the caller is gets decided later, by requireSession or
 * optionalSession, so public routes never pay for the user lookup.
 */
export function sessionMiddleware(deps: Pick<Dependencies, 'config' | 'db' | 'redis' | 'logger'>) {
  const redis = deps.redis.session;
  const store = new SessionStore(redis);
  const cookie = sessionCookie(deps.config);
  const snapshots = createUserSnapshotCache(deps);
  const runtime: SessionRuntime = {
    policy: sessionPolicy(deps.config.session),
    cookie,
    redis,
    expectNewSession: (sessionId) => store.expectNew(sessionId),
    loadUser: (userId) => snapshots.get(userId),
  };

  const expressSession = session({
    name: cookie.name,
    secret: deps.config.session.secret,
    store,
    genid: newSessionId,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { ...cookie.options, secure: false },
  });

  /**
   * Runs express-session on the request and calls `loaded` once it has loaded (or made) the
   * session, with the store's error if it failed.
   */
  const runExpressSession = (
    req: Request,
    res: Response,
    next: NextFunction,
    loaded: (storeError: Error | undefined) => void,
  ) => {
    let first = true;
    expressSession(req, res, (error?: unknown) => {
      // The first callback ends loading; a later one is a save failing after the response.
      if (!first) return next(error);
      first = false;
      if (!error) loaded(undefined);
      else
        loaded(
          error instanceof Error ? error : new Error('express-session failed', { cause: error }),
        );
    });
  };

  const cookiePrefix = `${cookie.name}=`;
  const completeCookie = completeSessionCookie(cookie);

  /**
   * The lifetime rules, once express-session has loaded the session (or failed to): a promise
   * when a rule writes to the store, nothing when none acts.
   */
  const applyRules = (
    req: Request,
    res: Response,
    storeError: unknown,
  ): Promise<void> | undefined => {
    bindSessionRuntime(req, runtime, { storeError });
    const data = signedInSession(req);
    if (!data) return undefined;
    const now = Date.now();
    if (isPastLifetime(data, now)) {
      return destroyCurrentSession(req, res).then(() => markSessionExpired(req));
    }
    // express-session resets a cookie's expiry to now + its original max age at the end of
    // every request; pinning it here keeps a remember-me cookie on the absolute lifetime.
    if (data.remember_me) data.cookie.expires = new Date(data.max_expires_at);
    if (now - data.last_seen_at >= LAST_SEEN_GRANULARITY_MS) data.last_seen_at = now;
    const expiresAt = refreshedExpiry(data, runtime.policy, now);
    if (expiresAt === undefined) return undefined;
    data.expires_at = expiresAt;
    return indexSession(redis, data.user_id, req.sessionID, data);
  };

  /**
   * Loads the session the cookie names and applies the lifetime rules to it. Callbacks, not
   * promises, on the way of every signed-in request: nothing to allocate when no rule acts.
   */
  const loadSession = (req: Request, res: Response, next: NextFunction) => {
    completeCookie(req, res);
    runExpressSession(req, res, next, (storeError) => {
      let applied: Promise<void> | undefined;
      try {
        applied = applyRules(req, res, storeError);
      } catch (thrown) {
        return next(thrown);
      }
      if (applied) applied.then(() => next(), next);
      else next();
    });
  };

  return (req: Request, res: Response, next: NextFunction) => {
    // Without its cookie a request has no session to load, and most such requests (public
    // reads) never make one: express-session would still mint a 256-bit id and hash an empty
    // session for each. It starts only when a handler signs someone in.
    if (!req.headers.cookie?.includes(cookiePrefix)) {
      bindSessionRuntime(req, runtime, {
        startSession: () => {
          completeCookie(req, res);
          return new Promise<void>((resolve, reject) =>
            runExpressSession(req, res, next, (storeError) =>
              storeError ? reject(storeError) : resolve(),
            ),
          );
        },
      });
      return next();
    }
    return loadSession(req, res, next);
  };
}
