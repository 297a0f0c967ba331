import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/constants/redis-keys.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor } from '../support/client.ts';
import { author, publish } from './support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const storageKeyOf = async (postId: string) =>
  (await app.deps.db.write('posts').where({ id: postId }).first<{ storage_key: string }>())
    ?.storage_key;

const actionsOn = async (postId: string) =>
  (
    await app.deps.db
      .write('action_logs')
      .where({ resource_type: 'post', resource_id: postId })
      .orderBy('id')
      .select<{ action: string; actor_id: string }[]>('action', 'actor_id')
  ).map((log) => [log.action, log.actor_id]);

const jobsFor = async (job: 'indexPost' | 'deleteContent', needle: string) =>
  (
    await app.deps.db
      .write('outbox')
      .where({ subject: jobStreams[job].subject })
      .whereRaw('payload::text like ?', [`%${needle}%`])
      .orderBy('id')
      .select<{ payload: unknown }[]>('payload')
  ).map((row) => row.payload);

describe('creating a post', () => {
  it('When a verified user creates a post, then it answers 201 with the post, stores the body and writes the log and index job', async () => {
    const { user, client } = await author(app);

    const { data, response } = await client.POST('/v0/posts', {
      body: { title: 'First light', content: 'The body, stored in the content bucket.' },
    });

    expect(response.status).toBe(201);
    expect(data).toMatchObject({
      title: 'First light',
      content: 'The body, stored in the content bucket.',
      author: { id: user.id, handle: user.handle, display_name: user.display_name },
    });
    const key = await storageKeyOf(data!.id);
    expect(key).toBe(`posts/${data!.id}`);
    expect((await app.deps.storage.content.get(key))?.toString()).toBe(
      'The body, stored in the content bucket.',
    );
    expect(await actionsOn(data!.id)).toEqual([['post:create', user.id]]);
    const log = await app.deps.db
      .write('action_logs')
      .where({ resource_id: data!.id })
      .first<{ actor_ip: string }>('actor_ip');
    expect(log.actor_ip).toMatch(/127\.0\.0\.1/);
    expect(await jobsFor('indexPost', data!.id)).toEqual([{ post_id: data!.id, action: 'index' }]);
  });

  it('When the user has not verified their email, then 403 auth:email_not_verified and no post', async () => {
    const { user, client } = await author(app);
    await app.deps.db.write('users').where({ id: user.id }).update({ verified_at: null });
    await app.deps.redis.cache.del(redisKeys.userSnapshot(user.id));

    const { error, response } = await client.POST('/v0/posts', {
      body: { title: 'Too early', content: 'Not yet.' },
    });

    expect(response.status).toBe(403);
    expect(error?.code).toBe('auth:email_not_verified');
    expect(await app.deps.db.write('posts').where({ author_id: user.id })).toEqual([]);
  });

  it('When nobody is signed in, then 401 auth:unauthorized', async () => {
    const { error, response } = await clientFor(app).POST('/v0/posts', {
      body: { title: 'Anonymous', content: 'No.' },
    });
    expect(response.status).toBe(401);
    expect(error?.code).toBe('auth:unauthorized');
  });

  it('When the title is empty or the content too long, then 400 general:validation_error', async () => {
    const { client } = await author(app);
    for (const body of [
      { title: '', content: 'x' },
      { title: 'ok', content: 'x'.repeat(40_001) },
    ]) {
      const { error, response } = await client.POST('/v0/posts', { body });
      expect(response.status).toBe(400);
      expect(error?.code).toBe('general:validation_error');
    }
  });
});

describe('reading a post', () => {
  it('When a post is read twice, then both answers are the post and the second comes from the cache', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Cached');
    const anonymous = clientFor(app);

    const first = await anonymous.GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    expect(first.data).toEqual(post);
    expect(await app.deps.redis.cache.get(redisKeys.postCache(post.id))).not.toBeNull();
    // Changed behind the app's back, so only a cache hit still shows the old title.
    await app.deps.db.write('posts').where({ id: post.id }).update({ title: 'Behind' });

    const second = await anonymous.GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    expect(second.data).toEqual(post);
  });

  it('When the post does not exist, then 404 post:not_found', async () => {
    const { error, response } = await clientFor(app).GET('/v0/posts/{id}', {
      params: { path: { id: newId() } },
    });
    expect(response.status).toBe(404);
    expect(error?.code).toBe('post:not_found');
  });

  it('When the id is not a UUID, then 400 general:validation_error', async () => {
    const { error, response } = await clientFor(app).GET('/v0/posts/{id}', {
      params: { path: { id: 'not-a-uuid' } },
    });
    expect(response.status).toBe(400);
    expect(error?.code).toBe('general:validation_error');
  });

  it('When the body of a post is missing from the content store, then 500 system:internal_error and the server keeps serving', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Lost body');
    await app.deps.storage.content.delete(await storageKeyOf(post.id));

    const { error, response } = await clientFor(app).GET('/v0/posts/{id}', {
      params: { path: { id: post.id } },
    });

    expect(response.status).toBe(500);
    expect(error?.code).toBe('system:internal_error');
    const healthy = await publish(client, 'Still serving');
    const read = await clientFor(app).GET('/v0/posts/{id}', {
      params: { path: { id: healthy.id } },
    });
    expect(read.data?.title).toBe('Still serving');
  });
});

describe('editing a post', () => {
  it('When the author edits the content, then the answer and every later read show it, and the log and index job are written', async () => {
    const { user, client } = await author(app);
    const post = await publish(client, 'Draft', 'old body');
    await clientFor(app).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });

    const { data, response } = await client.PATCH('/v0/posts/{id}', {
      params: { path: { id: post.id } },
      body: { content: 'new body' },
    });

    expect(response.status).toBe(200);
    expect(data).toMatchObject({ id: post.id, title: 'Draft', content: 'new body' });
    expect(Date.parse(data!.updated_at)).toBeGreaterThan(Date.parse(post.updated_at));
    const read = await clientFor(app).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    expect(read.data).toEqual(data);
    expect(await actionsOn(post.id)).toEqual([
      ['post:create', user.id],
      ['post:edit', user.id],
    ]);
    expect(await jobsFor('indexPost', post.id)).toHaveLength(2);
  });

  it('When someone else edits the post, then 403 user:permission_insufficient and nothing changes', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Mine', 'my body');
    const other = await author(app);

    const { error, response } = await other.client.PATCH('/v0/posts/{id}', {
      params: { path: { id: post.id } },
      body: { title: 'Yours now', content: 'taken' },
    });

    expect(response.status).toBe(403);
    expect(error?.code).toBe('user:permission_insufficient');
    const read = await clientFor(app).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    expect(read.data).toMatchObject({ title: 'Mine', content: 'my body' });
  });

  it('When the post does not exist, then 404 post:not_found', async () => {
    const { client } = await author(app);
    const { error, response } = await client.PATCH('/v0/posts/{id}', {
      params: { path: { id: newId() } },
      body: { title: 'Nothing' },
    });
    expect(response.status).toBe(404);
    expect(error?.code).toBe('post:not_found');
  });

  it('When the edit has no field or nobody is signed in, then 400 general:validation_error or 401 auth:unauthorized', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Untouched');
    const params = { path: { id: post.id } };

    const empty = await client.PATCH('/v0/posts/{id}', { params, body: {} });
    expect([empty.response.status, empty.error?.code]).toEqual([400, 'general:validation_error']);
    const anonymous = await clientFor(app).PATCH('/v0/posts/{id}', {
      params,
      body: { title: 'x' },
    });
    expect([anonymous.response.status, anonymous.error?.code]).toEqual([401, 'auth:unauthorized']);
  });
});

describe('deleting a post', () => {
  it('When the author deletes a post, then it is gone, and the log, the blob deletion and the index removal are queued', async () => {
    const { user, client } = await author(app);
    const post = await publish(client, 'Short-lived');
    await clientFor(app).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    const key = await storageKeyOf(post.id);

    const { response } = await client.DELETE('/v0/posts/{id}', {
      params: { path: { id: post.id } },
    });

    expect(response.status).toBe(204);
    const read = await clientFor(app).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    expect([read.response.status, read.error?.code]).toEqual([404, 'post:not_found']);
    expect(await actionsOn(post.id)).toEqual([
      ['post:create', user.id],
      ['post:delete', user.id],
    ]);
    expect(await jobsFor('deleteContent', key)).toEqual([{ storage_keys: [key] }]);
    expect(await jobsFor('indexPost', post.id)).toEqual([
      { post_id: post.id, action: 'index' },
      { post_id: post.id, action: 'delete' },
    ]);
  });

  it('When someone else deletes the post, then 403 user:permission_insufficient and it stays', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Kept');
    const other = await author(app);

    const { error, response } = await other.client.DELETE('/v0/posts/{id}', {
      params: { path: { id: post.id } },
    });

    expect(response.status).toBe(403);
    expect(error?.code).toBe('user:permission_insufficient');
    expect(await storageKeyOf(post.id)).toBeDefined();
  });

  it('When the post does not exist or nobody is signed in, then 404 post:not_found or 401 auth:unauthorized', async () => {
    const { client } = await author(app);
    const missing = await client.DELETE('/v0/posts/{id}', { params: { path: { id: newId() } } });
    expect([missing.response.status, missing.error?.code]).toEqual([404, 'post:not_found']);

    const post = await publish(client, 'Guarded');
    const anonymous = await clientFor(app).DELETE('/v0/posts/{id}', {
      params: { path: { id: post.id } },
    });
    expect([anonymous.response.status, anonymous.error?.code]).toEqual([401, 'auth:unauthorized']);
  });
});
