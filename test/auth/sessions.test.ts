import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  establishSession,
  optionalSession,
  sessionMiddleware,
} from '../../src/modules/auth/session/session.port.ts';
import {
  EXPIRED_NOTICE_MS,
  type SessionFields,
} from '../../src/modules/auth/session/session.policy.ts';
import { revokeUserSessions } from '../../src/modules/auth/session/session.revocation.ts';
import { SessionStore } from '../../src/modules/auth/session/session.store.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import type { ActionLogRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createPrivateRedis } from '../support/private-redis.ts';
import {
  cookieFrom,
  createSignedInUser,
  createUser,
  signIn,
  type CreatedUser,
} from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const HOUR = 3600;
const SLIDING_TTL_SECONDS = 168 * HOUR;

interface SessionInfo {
  id: string;
  created_at: string;
  last_seen_at: string;
  user_agent: string | null;
  ip: string | null;
  is_current: boolean;
}

function call(path: string, cookie: string, init: RequestInit = {}) {
  return fetch(`${app.baseUrl}${path}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), cookie },
  });
}

const me = (cookie: string) => call('/v0/user/me', cookie);

async function listSessions(cookie: string): Promise<SessionInfo[]> {
  const response = await call('/v0/auth/sessions', cookie);
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: SessionInfo[] }).sessions;
}

/** `session_id=s%3A<id>.<signature>` → `<id>`, the Redis key suffix. */
function sessionIdOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

async function storedSession(cookie: string): Promise<SessionFields | undefined> {
  const raw = await app.deps.redis.session.get(redisKeys.session(sessionIdOf(cookie)));
  return raw === null ? undefined : (JSON.parse(raw) as SessionFields);
}

/** Rewrites stored session fields and the key's TTL, as if time had passed. */
async function rewriteSession(cookie: string, changes: Partial<SessionFields>, ttlSeconds: number) {
  const key = redisKeys.session(sessionIdOf(cookie));
  const current = JSON.parse((await app.deps.redis.session.get(key))!) as SessionFields;
  await app.deps.redis.session.set(
    key,
    JSON.stringify({ ...current, ...changes }),
    'EX',
    ttlSeconds,
  );
}

/**
 * Moves a stored session `ms` into the future: its times fall back by `ms` and its key's TTL
 * shrinks by as much, and the key goes when Redis would have expired it by then.
 */
async function advanceClock(cookie: string, ms: number) {
  const redis = app.deps.redis.session;
  const key = redisKeys.session(sessionIdOf(cookie));
  const [fields, pttl] = await Promise.all([storedSession(cookie), redis.pttl(key)]);
  if (!fields || pttl <= ms) {
    await redis.del(key);
    return;
  }
  const moved = {
    ...fields,
    created_at: fields.created_at - ms,
    max_expires_at: fields.max_expires_at - ms,
    expires_at: fields.expires_at - ms,
    last_seen_at: fields.last_seen_at - ms,
  };
  await redis.set(key, JSON.stringify(moved), 'PX', pttl - ms);
}

const ttlOf = (cookie: string) =>
  app.deps.redis.session.ttl(redisKeys.session(sessionIdOf(cookie)));

const signedIn = (overrides = {}) => createSignedInUser(app.deps, app.baseUrl, overrides);

const loginAgain = (user: CreatedUser, userAgent: string) =>
  signIn(
    app.baseUrl,
    { email: user.user.email, password: user.password! },
    { 'user-agent': userAgent },
  );

describe('GET /v0/user/me', () => {
  it('When signed in, then it answers the own profile with full image URLs', async () => {
    const { user, cookie } = await signedIn({ profile_image: 'user-images/abc.webp' });
    const response = await me(cookie);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: user.id,
      handle: user.handle,
      display_name: user.display_name,
      bio: null,
      profile_image_url: `${app.deps.config.storage.public.publicBaseUrl}/user-images/abc.webp`,
      banner_image_url: null,
      is_verified: true,
      created_at: user.created_at.toISOString(),
      email: user.email,
      totp_enabled: false,
      has_password: true,
    });
  });

  it('When there is no session cookie, then 401 auth:unauthorized', async () => {
    const response = await fetch(`${app.baseUrl}/v0/user/me`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'auth:unauthorized' });
  });

  it('When the cookie signature is tampered with, then 401 auth:unauthorized', async () => {
    const { cookie } = await signedIn();
    const tampered = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const response = await me(tampered);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'auth:unauthorized' });
  });

  it('When the user of the session was deleted, then the session is no session (401 auth:unauthorized)', async () => {
    const { user, cookie } = await signedIn();
    await app.deps.db.write('users').where({ id: user.id }).delete();
    const response = await me(cookie);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'auth:unauthorized' });
    expect(await storedSession(cookie)).toBeUndefined();
  });
});

describe('session lifetime', () => {
  it('When a session is past its absolute lifetime, then 401 auth:session_expired and it is destroyed', async () => {
    const { user, cookie } = await signedIn();
    await rewriteSession(cookie, { max_expires_at: Date.now() - 1000 }, HOUR);
    const response = await me(cookie);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'auth:session_expired' });
    expect(response.headers.getSetCookie().join()).toMatch(
      /session_id=;.*Expires=Thu, 01 Jan 1970/,
    );
    expect(await storedSession(cookie)).toBeUndefined();
    const index = await app.deps.redis.session.zrange(redisKeys.userSessions(user.id), 0, '-1');
    expect(index).not.toContain(sessionIdOf(cookie));
    const again = await me(cookie);
    expect(await again.json()).toMatchObject({ code: 'auth:unauthorized' });
  });

  it('When more than the refresh threshold of the TTL remains, then a request rewrites the session but never extends its TTL', async () => {
    const { cookie } = await signedIn();
    const remaining = Math.floor(SLIDING_TTL_SECONDS * 0.6);
    const lastSeen = Date.now() - 5 * 60_000;
    await rewriteSession(
      cookie,
      { expires_at: Date.now() + remaining * 1000, last_seen_at: lastSeen },
      remaining,
    );
    expect((await me(cookie)).status).toBe(200);
    // last_seen_at moved, so the session was saved; the TTL stayed where it was.
    expect((await storedSession(cookie))!.last_seen_at).toBeGreaterThan(lastSeen);
    const ttl = await ttlOf(cookie);
    expect(ttl).toBeLessThanOrEqual(remaining);
    expect(ttl).toBeGreaterThan(remaining - 10);
  });

  it('When less than the refresh threshold remains, then the TTL slides back to the full sliding TTL and the index follows', async () => {
    const { user, cookie } = await signedIn();
    const remaining = Math.floor(SLIDING_TTL_SECONDS * 0.4);
    await rewriteSession(cookie, { expires_at: Date.now() + remaining * 1000 }, remaining);
    expect((await me(cookie)).status).toBe(200);
    const ttl = await ttlOf(cookie);
    expect(ttl).toBeGreaterThan(SLIDING_TTL_SECONDS - 10);
    const score = await app.deps.redis.session.zscore(
      redisKeys.userSessions(user.id),
      sessionIdOf(cookie),
    );
    expect(Number(score)).toBeGreaterThan(Date.now() + (SLIDING_TTL_SECONDS - 10) * 1000);
  });

  it('When a refresh is due near the absolute cap, then the expiry stops at max_expires_at and the key outlives it only by the expiry notice', async () => {
    const { cookie } = await signedIn();
    const maxExpiresAt = Date.now() + HOUR * 1000;
    await rewriteSession(
      cookie,
      { expires_at: Date.now() + 1800_000, max_expires_at: maxExpiresAt },
      1800,
    );
    expect((await me(cookie)).status).toBe(200);
    expect((await storedSession(cookie))!.expires_at).toBe(maxExpiresAt);
    const ttl = await ttlOf(cookie);
    expect(ttl).toBeLessThanOrEqual(HOUR + EXPIRED_NOTICE_MS / 1000);
    expect(ttl).toBeGreaterThan(HOUR + EXPIRED_NOTICE_MS / 1000 - 10);
  });

  it('When a session that ran to its cap is used after it, then the store still holds it and the answer is auth:session_expired', async () => {
    const { cookie } = await signedIn();
    const cap = Date.now() + HOUR * 1000;
    // Saved through the app's own store (last_seen_at is stale), which picks the key's TTL.
    await rewriteSession(
      cookie,
      { expires_at: cap, max_expires_at: cap, last_seen_at: Date.now() - 5 * 60_000 },
      HOUR,
    );
    expect((await me(cookie)).status).toBe(200);

    await advanceClock(cookie, cap - Date.now() + 60_000);
    const response = await me(cookie);

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'auth:session_expired' });
    expect(await storedSession(cookie)).toBeUndefined();
  });

  it('When a remember-me session is rewritten, then the cookie sent again still ends at the absolute cap', async () => {
    const { user, password } = await createUser(app.deps);
    const cookie = await signIn(app.baseUrl, {
      email: user.email,
      password: password!,
      remember_me: true,
    });
    await rewriteSession(
      cookie,
      { max_expires_at: Date.now() + HOUR * 1000, last_seen_at: Date.now() - 5 * 60_000 },
      HOUR,
    );
    const response = await me(cookie);
    expect(response.status).toBe(200);
    const resent = response.headers.getSetCookie().find((c) => c.startsWith('session_id='))!;
    const maxAge = Number(/; Max-Age=(\d+)/.exec(resent)?.[1]);
    expect(maxAge).toBeLessThanOrEqual(HOUR);
    expect(maxAge).toBeGreaterThan(HOUR - 10);
  });
});

describe('POST /v0/auth/logout', () => {
  it('When signed in, then 204, the cookie is cleared, the session is gone and auth:logout is written', async () => {
    const { user, cookie } = await signedIn();
    const response = await call('/v0/auth/logout', cookie, { method: 'POST' });
    expect(response.status).toBe(204);
    const cleared = response.headers.getSetCookie().find((c) => c.startsWith('session_id='));
    expect(cleared).toMatch(/^session_id=;.*Expires=Thu, 01 Jan 1970/);
    expect(cleared).toMatch(/HttpOnly/);
    expect((await me(cookie)).status).toBe(401);
    expect(await app.deps.redis.session.zcard(redisKeys.userSessions(user.id))).toBe(0);
    const logs = await app.deps.db
      .write<ActionLogRow>('action_logs')
      .where({ actor_id: user.id, action: 'auth:logout' });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.actor_ip).toBe('127.0.0.1');
  });

  it('When there is no session, then 401 auth:unauthorized', async () => {
    const response = await fetch(`${app.baseUrl}/v0/auth/logout`, { method: 'POST' });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'auth:unauthorized' });
  });
});

describe('GET /v0/auth/sessions and DELETE /v0/auth/sessions/{id}', () => {
  it('When a user has two sessions, then both are listed, most recently seen first, with public ids only', async () => {
    const first = await signedIn();
    const second = await loginAgain(first, 'Phone/1.0');
    const sessions = await listSessions(second);
    expect(sessions).toHaveLength(2);
    const [current, other] = sessions;
    expect(current).toMatchObject({ is_current: true, user_agent: 'Phone/1.0', ip: '127.0.0.1' });
    expect(other!.is_current).toBe(false);
    expect(Date.parse(current!.last_seen_at)).toBeGreaterThanOrEqual(
      Date.parse(other!.last_seen_at),
    );
    for (const session of sessions) {
      expect(session.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect([sessionIdOf(first.cookie), sessionIdOf(second)]).not.toContain(session.id);
    }
  });

  it('When another session is revoked, then it stops working at once and the caller stays signed in', async () => {
    const laptop = await signedIn();
    const phone = await loginAgain(laptop, 'Phone/1.0');
    const target = (await listSessions(laptop.cookie)).find((s) => !s.is_current)!;
    const response = await call(`/v0/auth/sessions/${target.id}`, laptop.cookie, {
      method: 'DELETE',
    });
    expect(response.status).toBe(204);
    expect(cookieFrom(response)).toBeUndefined();
    expect((await me(phone)).status).toBe(401);
    expect((await me(laptop.cookie)).status).toBe(200);
    expect(await listSessions(laptop.cookie)).toHaveLength(1);
  });

  it('When the current session is revoked, then it is a logout and the cookie is cleared', async () => {
    const { cookie } = await signedIn();
    const [current] = await listSessions(cookie);
    const response = await call(`/v0/auth/sessions/${current!.id}`, cookie, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(cookieFrom(response)).toBe('session_id=');
    expect((await me(cookie)).status).toBe(401);
  });

  it('When the id is unknown or another user’s, then 404 session:not_found and nothing is revoked', async () => {
    const mine = await signedIn();
    const theirs = await signedIn();
    const [foreign] = await listSessions(theirs.cookie);
    for (const id of ['NoSuchSession0000000000', foreign!.id]) {
      const response = await call(`/v0/auth/sessions/${id}`, mine.cookie, { method: 'DELETE' });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'session:not_found' });
    }
    expect((await me(theirs.cookie)).status).toBe(200);
  });

  it('When the id does not have the public id shape, then 400 general:validation_error', async () => {
    const { cookie } = await signedIn();
    const response = await call('/v0/auth/sessions/not%20an%20id', cookie, { method: 'DELETE' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'general:validation_error' });
  });

  it('When listing or revoking without a session, then 401 auth:unauthorized', async () => {
    const list = await fetch(`${app.baseUrl}/v0/auth/sessions`);
    const revoke = await fetch(`${app.baseUrl}/v0/auth/sessions/abc`, { method: 'DELETE' });
    for (const response of [list, revoke]) {
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'auth:unauthorized' });
    }
  });
});

describe('revokeUserSessions', () => {
  it('When all but the current session are revoked, then only the current one still works', async () => {
    const user = await signedIn();
    const others = [await loginAgain(user, 'A/1'), await loginAgain(user, 'B/1')];
    const revoked = await revokeUserSessions(app.deps.redis.session, user.user.id, {
      exceptSessionId: sessionIdOf(user.cookie),
    });
    expect(revoked).toBe(2);
    for (const cookie of others) expect((await me(cookie)).status).toBe(401);
    expect((await me(user.cookie)).status).toBe(200);
  });

  it('When every session is revoked, then none works and the index is empty', async () => {
    const user = await signedIn();
    const other = await loginAgain(user, 'A/1');
    await revokeUserSessions(app.deps.redis.session, user.user.id);
    for (const cookie of [user.cookie, other]) expect((await me(cookie)).status).toBe(401);
    expect(await app.deps.redis.session.zcard(redisKeys.userSessions(user.user.id))).toBe(0);
  });
});

describe('session store', () => {
  it('When a request still in flight saves a session revoked meanwhile, then the session is not written back', async () => {
    const { user, cookie } = await signedIn();
    const store = new SessionStore(app.deps.redis.session);
    const loaded = (await storedSession(cookie))!;
    await revokeUserSessions(app.deps.redis.session, user.id);
    await store.set(sessionIdOf(cookie), { ...loaded, last_seen_at: Date.now() } as never);
    expect(await storedSession(cookie)).toBeUndefined();
  });

  it('When express-session looks for a touch on the store, then it finds none, so an unchanged session costs no call to the store', () => {
    const store = new SessionStore(app.deps.redis.session);
    expect(typeof (store as { touch?: unknown }).touch).toBe('undefined');
  });

  it('When a new session is expected, then its first save creates the key with the sliding TTL', async () => {
    const { cookie } = await signedIn();
    const loaded = (await storedSession(cookie))!;
    const store = new SessionStore(app.deps.redis.session);
    const id = 'fresh-session-id-for-the-store-test';
    store.expectNew(id);
    await store.set(id, loaded as never);
    const ttl = await app.deps.redis.session.ttl(redisKeys.session(id));
    expect(ttl).toBeGreaterThan(SLIDING_TTL_SECONDS - 10);
    await app.deps.redis.session.del(redisKeys.session(id));
  });
});

describe('session store outage', () => {
  it('When the session Redis is down, then a signed-in route answers 503 system:dependency_unavailable, not 401', async () => {
    const redis = await createPrivateRedis();
    await redis.start();
    const outage = await startTestApp({ redis: { sessionUrl: redis.url } });
    try {
      const { user, password } = await createUser(outage.deps);
      const cookie = await signIn(outage.baseUrl, { email: user.email, password: password! });
      await redis.stop();
      const response = await fetch(`${outage.baseUrl}/v0/user/me`, { headers: { cookie } });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'system:dependency_unavailable' });
    } finally {
      await outage.close();
      await redis.stop();
    }
  });
});

describe('optionalSession', () => {
  it('When a public route uses optionalSession, then the signed-in caller is known and anyone else is anonymous', async () => {
    // A route of its own, behind the same session pipeline as /v0.
    const probe = express();
    probe.use('/v0', sessionMiddleware(app.deps));
    probe.get('/v0/whoami', optionalSession, (req, res) => {
      res.json({ user_id: req.auth?.userId ?? null });
    });
    const server = probe.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v0/whoami`;
    const whoami = async (cookie?: string) => {
      const response = await fetch(url, { headers: cookie ? { cookie } : {} });
      expect(response.status).toBe(200);
      return ((await response.json()) as { user_id: string | null }).user_id;
    };
    try {
      const signedInUser = await signedIn();
      const expired = await signedIn();
      await rewriteSession(expired.cookie, { max_expires_at: Date.now() - 1000 }, HOUR);
      expect(await whoami(signedInUser.cookie)).toBe(signedInUser.user.id);
      expect(await whoami()).toBeNull();
      expect(await whoami(expired.cookie)).toBeNull();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('requests without a session cookie', () => {
  it('When a request has no session cookie, then no session is made for it until a handler signs someone in', async () => {
    const probe = express();
    probe.use('/v0', sessionMiddleware(app.deps));
    probe.get('/v0/peek', optionalSession, (req, res) => {
      res.json({ has_session: req.session !== undefined });
    });
    probe.post('/v0/sign-in/:userId', async (req, res) => {
      await establishSession(req, { userId: req.params.userId, rememberMe: false });
      res.status(204).end();
    });
    const server = probe.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v0`;
    try {
      for (const headers of [
        {},
        { cookie: 'anonymous_user_id=0190a5d2-7c3e-7b1a-9f00-1234567890ab' },
      ]) {
        const peek = await fetch(`${base}/peek`, { headers });
        expect(await peek.json()).toEqual({ has_session: false });
        expect(peek.headers.getSetCookie()).toEqual([]);
      }

      const { user } = await createUser(app.deps);
      const signIn = await fetch(`${base}/sign-in/${user.id}`, { method: 'POST' });
      const cookie = cookieFrom(signIn);

      expect(signIn.status).toBe(204);
      expect((await storedSession(cookie!))?.user_id).toBe(user.id);
      expect(await me(cookie!).then((r) => r.status)).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
