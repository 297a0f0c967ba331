import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/config/server.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { createDeleteContentConsumer } from '../../worker/consumers/delete-content.consumer.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor } from '../support/client.ts';
import { startGatedProxy, type GatedProxy } from '../support/gated-proxy.ts';
import { startAppOnPrivateCacheRedis, type PrivateRedis } from '../support/private-redis.ts';
import { eventually } from '../support/wait.ts';
import { createRunnerHarness, type RunnerHarness } from '../worker/support/runner-harness.ts';
import { author, publish } from './support.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('paging the feed', () => {
  it('When posts are created between page requests, then the walk neither skips nor repeats a post', async () => {
    const { user, client } = await author(app);
    const existing = [];
    for (let i = 0; i < 7; i++) existing.push(await publish(client, `Older ${i}`));
    const newestFirst = existing.map((post) => post.id).reverse();
    const anonymous = clientFor(app);
    const page = (cursor?: string) =>
      anonymous.GET('/v0/posts', {
        params: { query: { author_id: user.id, limit: 3, ...(cursor ? { cursor } : {}) } },
      });
    // The listing reads the replica, which trails the primary briefly.
    await eventually(async () => (await page()).data?.posts[0]?.id === newestFirst[0]);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await page(cursor);
      seen.push(...data!.posts.map((post) => post.id));
      await publish(client, `Newer after page ${seen.length}`);
      cursor = data!.next_cursor ?? undefined;
    } while (cursor);

    expect(seen).toEqual(newestFirst);
  });

  it('When no limit is given, then a page holds 20 posts, each without its content', async () => {
    const { user, client } = await author(app);
    for (let i = 0; i < 21; i++) await publish(client, `Default ${i}`);
    const list = () =>
      clientFor(app).GET('/v0/posts', { params: { query: { author_id: user.id } } });
    await eventually(async () => (await list()).data?.posts[0]?.title === 'Default 20');

    const { data, response } = await list();

    expect(response.status).toBe(200);
    expect(data!.posts).toHaveLength(20);
    expect(data!.next_cursor).not.toBeNull();
    for (const post of data!.posts) expect(post).not.toHaveProperty('content');
  });

  it('When a cursor is forged, altered or carried over to another author, then 400 general:validation_error', async () => {
    const { user, client } = await author(app);
    for (let i = 0; i < 3; i++) await publish(client, `Signed ${i}`);
    const anonymous = clientFor(app);
    const first = await eventually(async () => {
      const { data } = await anonymous.GET('/v0/posts', {
        params: { query: { author_id: user.id, limit: 1 } },
      });
      return data?.next_cursor != null;
    }).then(() =>
      anonymous.GET('/v0/posts', { params: { query: { author_id: user.id, limit: 1 } } }),
    );
    const issued = first.data!.next_cursor!;
    const altered = `${issued.slice(0, 5)}${issued[5] === 'A' ? 'B' : 'A'}${issued.slice(6)}`;
    const forged = Buffer.from(JSON.stringify({ c: '2025-01-01', i: user.id })).toString(
      'base64url',
    );

    for (const query of [
      { author_id: user.id, cursor: forged },
      { author_id: user.id, cursor: altered },
      { cursor: issued },
    ]) {
      const { error, response } = await anonymous.GET('/v0/posts', { params: { query } });
      expect(response.status).toBe(400);
      expect(error?.code).toBe('general:validation_error');
    }
  });

  it('When the limit is outside 1–100, then 400 general:validation_error', async () => {
    for (const limit of [0, 101]) {
      const { error, response } = await clientFor(app).GET('/v0/posts', {
        params: { query: { limit } },
      });
      expect([response.status, error?.code]).toEqual([400, 'general:validation_error']);
    }
  });
});

describe('a write racing a read', () => {
  let proxy: GatedProxy;
  let reader: TestApp;

  beforeAll(async () => {
    const base = loadServerConfig(process.env);
    proxy = await startGatedProxy(base.storage.content.endpoint);
    // A second instance whose content store answers only when the test says so.
    reader = await startTestApp({
      storage: { content: { ...base.storage.content, endpoint: proxy.url } },
    });
  });
  afterAll(async () => {
    await reader.close();
    await proxy.close();
  });

  it('When a read loads the old row, the edit answers, and only then the read fills the cache, then later reads still see the edit', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Before the edit', 'old body');
    const gate = proxy.hold((req) => req.method === 'GET' && req.url!.includes(post.id));

    const racing = clientFor(reader).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    await gate.arrived;
    const edit = await client.PATCH('/v0/posts/{id}', {
      params: { path: { id: post.id } },
      body: { title: 'After the edit', content: 'new body' },
    });
    expect(edit.response.status).toBe(200);
    gate.release();
    await racing;

    for (const instance of [app, reader]) {
      const read = await clientFor(instance).GET('/v0/posts/{id}', {
        params: { path: { id: post.id } },
      });
      expect(read.data).toMatchObject({ title: 'After the edit', content: 'new body' });
    }
  });

  it('When a read loads the row, the delete answers, and only then the read fills the cache, then later reads find no post', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'About to go');
    const gate = proxy.hold((req) => req.method === 'GET' && req.url!.includes(post.id));

    const racing = clientFor(reader).GET('/v0/posts/{id}', { params: { path: { id: post.id } } });
    await gate.arrived;
    const deleted = await client.DELETE('/v0/posts/{id}', { params: { path: { id: post.id } } });
    expect(deleted.response.status).toBe(204);
    gate.release();
    await racing;

    for (const instance of [app, reader]) {
      const read = await clientFor(instance).GET('/v0/posts/{id}', {
        params: { path: { id: post.id } },
      });
      expect([read.response.status, read.error?.code]).toEqual([404, 'post:not_found']);
    }
  });
});

describe('a content store that refuses the write', () => {
  let broken: TestApp;

  beforeAll(async () => {
    const base = loadServerConfig(process.env);
    broken = await startTestApp({
      storage: {
        content: { ...base.storage.content, bucket: 'no-such-bucket' },
        createBuckets: false,
      },
    });
  });
  afterAll(async () => {
    await broken.close();
  });

  it('When the body cannot be stored, then 503 system:dependency_unavailable and no row, log or job is left', async () => {
    const { user, client } = await author(broken);

    const { error, response } = await client.POST('/v0/posts', {
      body: { title: 'Never stored', content: 'lost' },
    });

    expect([response.status, error?.code]).toEqual([503, 'system:dependency_unavailable']);
    const db = broken.deps.db.write;
    expect(await db('posts').where({ author_id: user.id })).toEqual([]);
    expect(await db('action_logs').where({ actor_id: user.id, resource_type: 'post' })).toEqual([]);
  });
});

describe('the cache Redis down', () => {
  let cacheRedis: PrivateRedis;
  let isolated: TestApp;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ app: isolated, cacheRedis, close } = await startAppOnPrivateCacheRedis());
  });
  afterAll(async () => {
    await close();
  });

  it('When the cache Redis stops, then posts are still created, read, edited and deleted', async () => {
    const { client } = await author(isolated);
    await cacheRedis.stop();

    const post = await publish(client, 'Without a cache', 'still here');
    const params = { path: { id: post.id } };
    const read = await clientFor(isolated).GET('/v0/posts/{id}', { params });
    expect(read.data).toEqual(post);
    const edited = await client.PATCH('/v0/posts/{id}', { params, body: { title: 'Edited' } });
    expect(edited.data?.title).toBe('Edited');
    expect((await client.DELETE('/v0/posts/{id}', { params })).response.status).toBe(204);
  });
});

describe('the blob after a delete', () => {
  let harness: RunnerHarness;

  beforeAll(async () => {
    harness = await createRunnerHarness();
  });
  afterAll(async () => {
    await harness.close();
  });

  it('When a post is deleted and its delete-content job runs, then the blob is gone', async () => {
    const { client } = await author(app);
    const post = await publish(client, 'Blob to go');
    const key = `posts/${post.id}`;
    expect(await app.deps.storage.content.get(key)).toBeDefined();

    await client.DELETE('/v0/posts/{id}', { params: { path: { id: post.id } } });
    const job = await app.deps.db
      .write('outbox')
      .where({ subject: jobStreams.deleteContent.subject })
      .whereRaw("payload->'storage_keys' @> ?::jsonb", [JSON.stringify([key])])
      .first<{ id: string; payload: unknown }>();
    await harness.start([createDeleteContentConsumer(app.deps)]);
    await harness.publish('deleteContent', job.payload, job.id);

    await eventually(async () => (await app.deps.storage.content.get(key)) === undefined);
    expect(await harness.deadLetters()).toEqual([]);
  });
});
