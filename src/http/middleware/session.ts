import type { NextFunction, Request, RequestHandler, Response } from 'express';
import RedisStore from 'connect-redis';
import session, { type SessionData } from 'express-session';
import type { ServerConfig } from '../../config/server.ts';
import type { Dependencies } from '../../dependencies.ts';
import { indexSession } from '../../modules/auth/session-index.ts';
import {
  LAST_SEEN_GRANULARITY_MS,
  isPastLifetime,
  newSessionId,
  refreshedExpiry,
  sessionPolicy,
  ttlSeconds,
} from '../../modules/auth/session-record.ts';
import { createUserSnapshotCache } from '../../modules/users/user-snapshot.cache.ts';
import type { RedisClient } from '../../shared/clients/redis.ts';
import { redisKeys } from '../../shared/constants/redis-keys.ts';
import {
  bindSessionRuntime,
  destroyCurrentSession,
  markSessionExpired,
  signedInSession,
  type SessionCookie,
  type SessionRuntime,
} from '../session.ts';

type Done = (error?: unknown) => void;
const noop: Done = () => {};

/**
 * connect-redis with two changes to `set`: the TTL comes from the session's own sliding
 * expiry (so rewriting a session never extends it), and only a session being created may
 * make a new key. Any other save is `SET … XX`, so a request still in flight when its
 * session is revoked cannot write the session back.
 */
export class SessionStore extends RedisStore {
  readonly #redis: RedisClient;
  readonly #creating = new Set<string>();

  constructor(redis: RedisClient) {
    super({ client: redis, prefix: redisKeys.session(''), disableTouch: true });
    this.#redis = redis;
  }

  expectNew(sessionId: string): void {
    this.#creating.add(sessionId);
  }

  override async set(sessionId: string, data: SessionData, done: Done = noop): Promise<void> {
    const creating = this.#creating.delete(sessionId);
    const key = redisKeys.session(sessionId);
    const ttl = ttlSeconds(data, Date.now());
    try {
      // Only signed-in sessions are stored; anything else has no expiry and is dropped.
      if (ttl <= 0) await this.#redis.del(key);
      else if (creating) await this.#redis.set(key, JSON.stringify(data), 'EX', ttl);
      else await this.#redis.set(key, JSON.stringify(data), 'EX', ttl, 'XX');
      done();
    } catch (error) {
      done(error);
    }
  }
}

/**
 * `session_id` in development and test; in production the `__Host-` prefix (the browser then
 * insists on Secure, Path=/ and no Domain), or `__Secure-` when a cookie domain is shared.
 */
export function sessionCookie(config: ServerConfig): SessionCookie {
  const domain = config.session.cookieDomain;
  const production = config.env === 'production';
  const prefix = !production ? '' : domain ? '__Secure-' : '__Host-';
  return {
    name: `${prefix}session_id`,
    options: {
      httpOnly: true,
      secure: config.env !== 'development',
      sameSite: 'lax',
      path: '/',
      ...(domain ? { domain } : {}),
    },
  };
}

/**
 * express-session writes no Max-Age (only Expires) and refuses to send a Secure cookie on a
 * connection it does not see as TLS, which is every connection behind a TLS-terminating
 * proxy without TRUST_PROXY, and every test. Its cookie is therefore configured without
 * Secure, and this hook, installed before express-session so that it runs right after
 * express-session wrote the header, adds Secure and the Max-Age of a remember-me cookie.
 */
function completeSessionCookie(cookie: SessionCookie): RequestHandler {
  const prefix = `${cookie.name}=`;
  return (req, res, next) => {
    const complete = () => {
      const header = res.getHeader('Set-Cookie');
      if (!Array.isArray(header) || !header.some((entry) => entry.startsWith(prefix))) return;
      const expires = req.session?.cookie.expires;
      res.setHeader(
        'Set-Cookie',
        header.map((entry) => {
          if (!entry.startsWith(prefix)) return entry;
          let completed = entry;
          if (expires) {
            const maxAge = Math.max(0, Math.floor((expires.getTime() - Date.now()) / 1000));
            completed += `; Max-Age=${maxAge}`;
          }
          if (cookie.options.secure && !/;\s*Secure\b/i.test(completed)) completed += '; Secure';
          return completed;
        }),
      );
    };
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
    res.writeHead = ((...args: unknown[]) => {
      complete();
      return writeHead(...args);
    }) as typeof res.writeHead;
    next();
  };
}

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

  /** Runs express-session on the request; settles once it has loaded (or made) the session. */
  const runExpressSession = (req: Request, res: Response, next: NextFunction) =>
    new Promise<void>((resolve, reject) => {
      let first = true;
      expressSession(req, res, (error?: unknown) => {
        // The first callback ends loading; a later one is a save failing after the response.
        if (!first) return next(error);
        first = false;
        if (!error) resolve();
        else
          reject(
            error instanceof Error ? error : new Error('express-session failed', { cause: error }),
          );
      });
    });

  const cookiePrefix = `${cookie.name}=`;
  const loadSession: RequestHandler = async (req, res, next) => {
    // Without its cookie a request has no session to load, and most such requests (public
    // reads) never make one: express-session would still mint a 256-bit id and hash an empty
    // session for each. It starts only when a handler signs someone in.
    if (!req.headers.cookie?.includes(cookiePrefix)) {
      bindSessionRuntime(req, runtime, { startSession: () => runExpressSession(req, res, next) });
      return next();
    }
    const storeError = await runExpressSession(req, res, next).then(
      () => undefined,
      (error: unknown) => error,
    );
    bindSessionRuntime(req, runtime, { storeError });
    next();
  };

  const applyLifetime: RequestHandler = async (req, res, next) => {
    const data = signedInSession(req);
    if (!data) return next();
    const now = Date.now();
    if (isPastLifetime(data, now)) {
      await destroyCurrentSession(req, res);
      markSessionExpired(req);
      return next();
    }
    // express-session resets a cookie's expiry to now + its original max age at the end of
    // every request; pinning it here keeps a remember-me cookie on the absolute lifetime.
    if (data.remember_me) data.cookie.expires = new Date(data.max_expires_at);
    const expiresAt = refreshedExpiry(data, runtime.policy, now);
    if (expiresAt !== undefined) {
      data.expires_at = expiresAt;
      await indexSession(redis, data.user_id, req.sessionID, data);
    }
    if (now - data.last_seen_at >= LAST_SEEN_GRANULARITY_MS) data.last_seen_at = now;
    next();
  };

  return [completeSessionCookie(cookie), loadSession, applyLifetime];
}
