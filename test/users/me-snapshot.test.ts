import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserSnapshotCache } from '../../src/modules/users/user-snapshot.cache.ts';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createSignedInUser, uniqueHandle } from '../support/factories.ts';
import { postJson } from '../support/http.ts';
import { mailedTokens } from '../support/outbox.ts';
import { startAppOnPrivateCacheRedis, type PrivateRedis } from '../support/private-redis.ts';
import { codeAt } from '../totp/totp-support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

async function me(cookie: string, on: TestApp = app) {
  const response = await fetch(`${on.baseUrl}/v0/user/me`, { headers: { cookie } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const cachedSnapshot = (userId: string) => app.deps.redis.cache.get(redisKeys.userSnapshot(userId));

describe('the signed-in user snapshot', () => {
  it('When a signed-in user is read, then the snapshot is cached without any secret and answers the next read', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const first = await me(cookie);
    const cached = await cachedSnapshot(user.id);

    expect(first.status).toBe(200);
    expect(JSON.parse(cached!)).toMatchObject({ id: user.id, email: user.email });
    expect(Object.keys(JSON.parse(cached!) as object).sort()).toEqual([
      'banner_image',
      'bio',
      'created_at',
      'display_name',
      'email',
      'handle',
      'has_password',
      'id',
      'profile_image',
      'totp_enabled',
      'verified_at',
    ]);
    // Changed behind the app's back, so only a cache hit still shows the old name.
    await app.deps.db.write('users').where({ id: user.id }).update({ display_name: 'Behind' });
    expect((await me(cookie)).body).toEqual(first.body);
  });

  it('When an email change is confirmed, then /me shows the new address at once', async () => {
    const { user, password, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    expect((await me(cookie)).body.email).toBe(user.email);
    const target = `${uniqueHandle('snap')}@example.test`;

    await postJson(app.baseUrl, '/v0/auth/change-email', { password, new_email: target }, cookie);
    const [token] = await mailedTokens(app.deps.db.write, target, 'email_change');
    const confirmed = await postJson(app.baseUrl, '/v0/auth/confirm-email-change', { token });

    expect(confirmed.status).toBe(204);
    expect((await me(cookie)).body.email).toBe(target);
  });

  it('When TOTP is enabled and then disabled, then /me follows each change at once', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    expect((await me(cookie)).body.totp_enabled).toBe(false);
    const setup = await postJson(app.baseUrl, '/v0/auth/totp/setup', {}, cookie);
    const { secret } = setup.body as { secret: string };

    const enabled = await postJson(
      app.baseUrl,
      '/v0/auth/totp/enable',
      { code: await codeAt(secret, 0) },
      cookie,
    );
    expect(enabled.status).toBe(200);
    expect((await me(cookie)).body.totp_enabled).toBe(true);

    const disabled = await postJson(
      app.baseUrl,
      '/v0/auth/totp/disable',
      { code: await codeAt(secret, 1) },
      cookie,
    );
    expect(disabled.status).toBe(204);
    expect((await me(cookie)).body.totp_enabled).toBe(false);
  });

  it('When a user with a cached snapshot is deleted and invalidated, then the session is no session', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    expect((await me(cookie)).status).toBe(200);

    await app.deps.db.write('users').where({ id: user.id }).delete();
    await createUserSnapshotCache(app.deps).invalidate(user.id);

    const after = await me(cookie);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'auth:unauthorized' });
  });

  it('When a read follows an invalidation, then it answers from PostgreSQL and leaves the tombstone in place', async () => {
    const { user, cookie } = await createSignedInUser(app.deps, app.baseUrl);
    await me(cookie);
    const snapshots = createUserSnapshotCache(app.deps);

    await app.deps.db.write('users').where({ id: user.id }).update({ display_name: 'Renamed' });
    await snapshots.invalidate(user.id);
    const read = await snapshots.get(user.id);

    expect(read?.display_name).toBe('Renamed');
    // A read racing the write could hold the old row: while the tombstone lives, no read
    // may write a snapshot back, so it stays until it expires.
    expect(await cachedSnapshot(user.id)).toBe('-');
    const ttl = await app.deps.redis.cache.ttl(redisKeys.userSnapshot(user.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10);
  });
});

describe('the snapshot cache when the cache Redis is down', () => {
  let cacheRedis: PrivateRedis;
  let isolated: TestApp;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ app: isolated, cacheRedis, close } = await startAppOnPrivateCacheRedis());
  });
  afterAll(async () => {
    await close();
  });

  it('When the cache Redis stops, then signed-in reads and user writes go on through PostgreSQL', async () => {
    const { user, cookie } = await createSignedInUser(isolated.deps, isolated.baseUrl);
    expect((await me(cookie, isolated)).status).toBe(200);

    await cacheRedis.stop();
    const read = await me(cookie, isolated);
    const setup = await postJson(isolated.baseUrl, '/v0/auth/totp/setup', {}, cookie);
    const { secret } = setup.body as { secret: string };
    const enabled = await postJson(
      isolated.baseUrl,
      '/v0/auth/totp/enable',
      { code: await codeAt(secret, 0) },
      cookie,
    );

    expect(read).toMatchObject({ status: 200, body: { id: user.id, totp_enabled: false } });
    expect(enabled.status).toBe(200);
    expect((await me(cookie, isolated)).body.totp_enabled).toBe(true);
  });
});
