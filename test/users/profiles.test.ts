import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createUser, uniqueHandle, type UserOverrides } from '../support/factories.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

/** Public reads go to the replica, a few milliseconds behind the primary the factory writes. */
async function createReplicatedUser(overrides: UserOverrides = {}): Promise<UserRow> {
  const { user } = await createUser(app.deps, overrides);
  const deadline = Date.now() + 5000;
  while (!(await app.deps.db.read('users').where({ id: user.id }).first())) {
    if (Date.now() > deadline) throw new Error('the replica did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return user;
}

async function get(path: string) {
  const response = await fetch(`${app.baseUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('public user reads', () => {
  it('When a profile is read by handle in another letter case, then it answers the public fields with full image URLs', async () => {
    const user = await createReplicatedUser({
      handle: uniqueHandle('Pub'),
      bio: 'Counts things.',
      profile_image: 'user-images/abc.webp',
    });

    const { status, body } = await get(
      `/v0/users/profile?handle=${encodeURIComponent(user.handle.toLowerCase())}`,
    );

    expect(status).toBe(200);
    expect(body).toEqual({
      id: user.id,
      handle: user.handle,
      display_name: user.display_name,
      bio: 'Counts things.',
      profile_image_url: app.deps.storage.public.publicUrl('user-images/abc.webp'),
      banner_image_url: null,
      is_verified: true,
      created_at: user.created_at.toISOString(),
    });
    expect(body.profile_image_url).toMatch(/^https?:\/\/.+\/user-images\/abc\.webp$/);
    expect(body).not.toHaveProperty('email');
  });

  it('When no user has the handle, then it answers 404 user:not_found', async () => {
    const { status, body } = await get(`/v0/users/profile?handle=${uniqueHandle('none')}`);

    expect(status).toBe(404);
    expect(body).toMatchObject({ status: 404, code: 'user:not_found' });
  });

  it('When the handle parameter is missing or malformed, then it answers 400 general:validation_error', async () => {
    for (const path of ['/v0/users/profile', '/v0/users/profile?handle=a-b']) {
      const { status, body } = await get(path);
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'general:validation_error' });
    }
  });

  it('When a profile is read by id, then it answers the public profile of that user, unverified ones included', async () => {
    const user = await createReplicatedUser({ verified_at: null });

    const { status, body } = await get(`/v0/users/profile/id?user_id=${user.id}`);

    expect(status).toBe(200);
    expect(body).toMatchObject({ id: user.id, handle: user.handle, is_verified: false });
  });

  it('When no user has the id, then it answers 404 user:not_found; a malformed id answers 400', async () => {
    const missing = await get(`/v0/users/profile/id?user_id=${randomUUID()}`);
    const malformed = await get('/v0/users/profile/id?user_id=not-a-uuid');

    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'user:not_found' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'general:validation_error' });
  });
});

describe('GET /v0/users/handle/{handle}/available', () => {
  it('When nobody has the handle, then it is available', async () => {
    const { status, body } = await get(`/v0/users/handle/${uniqueHandle('free')}/available`);

    expect(status).toBe(200);
    expect(body).toEqual({ available: true });
  });

  it('When a user has the handle in another letter case, then it is unavailable', async () => {
    const user = await createReplicatedUser({ handle: uniqueHandle('Case') });

    const { body } = await get(`/v0/users/handle/${user.handle.toUpperCase()}/available`);

    expect(body).toEqual({ available: false });
  });

  it.each(['admin', 'ROOT', 'Support', 'system'])(
    'When the handle is the reserved word %s, then it is unavailable',
    async (handle) => {
      const { status, body } = await get(`/v0/users/handle/${handle}/available`);

      expect(status).toBe(200);
      expect(body).toEqual({ available: false });
    },
  );

  it('When the handle breaks the format rules, then it answers 400 general:validation_error', async () => {
    for (const handle of ['ab', '_lead', 'trail_', 'has.dot']) {
      const { status, body } = await get(`/v0/users/handle/${handle}/available`);
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'general:validation_error' });
    }
  });
});
