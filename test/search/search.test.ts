import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createMailer, type Mailer } from '../../src/shared/clients/mailer.ts';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';
import { createPostgresSearchEngine } from '../../src/shared/clients/search/postgres-engine.ts';
import { storageKeys } from '../../src/shared/constants/storage-keys.ts';
import { newId } from '../../src/shared/db/ids.ts';
import type { PostRow } from '../../src/shared/db/rows.ts';
import { createConsumers } from '../../worker/consumers/index.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { startMeilisearchServer, type MeilisearchServer } from '../support/meilisearch-server.ts';
import { freePort } from '../support/net.ts';
import { createPrivateTables, type PrivateTables } from '../support/private-tables.ts';
import {
  createRunnerHarness,
  eventually,
  logger,
  type RunnerHarness,
} from '../worker/support/runner-harness.ts';

/** A word no other post contains (letters only: the tokenizer splits digits off). */
function uniqueWord(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`.replace(
    /\d/g,
    (d) => 'abcdefghij'[Number(d)]!,
  );
}

// Posts and their search copies in a schema of this file's own, so emptying the index for the
// reindex test cannot disturb another file; the worker's consumers run against the same schema.
let tables: PrivateTables;
let app: TestApp;
let harness: RunnerHarness;
let redis: RedisClient;
let cacheRedis: RedisClient;
let mailer: Mailer;
let authorId: string;
const contentKeys: string[] = [];

beforeAll(async () => {
  tables = await createPrivateTables(['posts', 'search_posts'], { poolMax: 4 });
  app = await startTestApp({ database: { url: tables.url, readUrl: tables.url } });
  const config = loadWorkerConfig(process.env);
  harness = await createRunnerHarness();
  redis = await createRedis(config.redis.sessionUrl, 'search-test');
  cacheRedis = await createRedis(config.redis.cacheUrl, 'search-test-cache');
  mailer = createMailer(config.smtp);
  await harness.start(
    await createConsumers({
      config,
      logger,
      db: tables.db,
      redis,
      cacheRedis,
      storage: app.deps.storage,
      search: createPostgresSearchEngine(tables.db.write),
      mailer,
      nats: harness.nats,
    }),
  );
  authorId = (await createUser(app.deps)).user.id;
});

afterAll(async () => {
  await harness?.close();
  if (redis) await closeRedis(redis);
  if (cacheRedis) await closeRedis(cacheRedis);
  mailer?.close();
  if (app) {
    await app.deps.storage.content.deleteMany(contentKeys);
    await app.deps.db.write('users').where({ id: authorId }).delete();
    await app.close();
  }
  await tables?.drop();
});

/** A post as the posts module stores it: the row, and its body in the content bucket. */
async function insertPost(title: string, content: string): Promise<PostRow> {
  const id = newId();
  const key = storageKeys.postContent(id);
  await app.deps.storage.content.put(key, content, 'text/plain; charset=utf-8');
  contentKeys.push(key);
  const [row] = await tables.db
    .write<PostRow>('posts')
    .insert({ id, author_id: authorId, title, storage_key: key })
    .returning('*');
  return row!;
}

async function searchPosts(q: string, paging: { page?: number; page_size?: number } = {}) {
  const { data, response } = await clientFor(app).GET('/v0/search/posts', {
    params: { query: { q, ...paging } },
  });
  expect(response.status).toBe(200);
  return data!;
}

const hitIds = async (q: string) => (await searchPosts(q)).hits.map((hit) => hit.id);

async function indexed(post: PostRow, action: 'index' | 'delete' = 'index'): Promise<void> {
  await harness.publish('indexPost', { post_id: post.id, action });
}

describe('GET /v0/search/posts', () => {
  it('When a post is indexed, then it is found with a highlighted snippet; after an edit and a re-index the new words find it; after its delete it is gone', async () => {
    const word = uniqueWord('life');
    const edited = uniqueWord('edit');
    const post = await insertPost(`About ${word}`, `The ${word} of the analytical engine.`);

    await indexed(post);
    const first = await eventually('the post to be searchable', async () => {
      const result = await searchPosts(word);
      return result.total_hits === 1 ? result : undefined;
    });
    expect(first).toEqual({
      hits: [
        {
          id: post.id,
          author_id: authorId,
          title: `About ${word}`,
          snippet: `The <mark>${word}</mark> of the analytical engine.`,
        },
      ],
      page: 1,
      page_size: 20,
      total_hits: 1,
      total_pages: 1,
    });

    await app.deps.storage.content.put(post.storage_key, `Now ${edited}.`, 'text/plain');
    await tables.db.write('posts').where({ id: post.id }).update({ updated_at: new Date() });
    await indexed(post);
    await eventually('the edit to reach the index', async () =>
      (await hitIds(edited)).includes(post.id) ? true : undefined,
    );
    expect(await hitIds(`"${word} of"`)).toEqual([]);

    await tables.db.write('posts').where({ id: post.id }).delete();
    await indexed(post, 'delete');
    await eventually('the post to leave the index', async () =>
      (await hitIds(word)).length === 0 ? true : undefined,
    );
  });

  it('When a post contains a script tag, then the snippet carries it escaped', async () => {
    const word = uniqueWord('xss');
    const post = await insertPost('Markup', `${word} <script>alert(1)</script> done`);
    await indexed(post);

    const [hit] = await eventually('the post to be searchable', async () => {
      const { hits } = await searchPosts(word);
      return hits.length === 1 ? hits : undefined;
    });

    expect(hit!.snippet).toBe(`<mark>${word}</mark> &lt;script&gt;alert(1)&lt;/script&gt; done`);
  });

  it('When the query is the start of a word being typed, then posts with that word are found', async () => {
    const word = uniqueWord('typing');
    const post = await insertPost(`Weaving ${word}`, 'Cards and looms.');
    await indexed(post);

    await eventually('the post to be found by a prefix', async () =>
      (await hitIds(`weaving ${word.slice(0, 8)}`)).includes(post.id) ? true : undefined,
    );
  });

  it('When hits span pages, then page and page_size select them and the totals count them all', async () => {
    const word = uniqueWord('paged');
    const posts = [];
    for (let i = 0; i < 3; i++) posts.push(await insertPost(`Part ${i}`, `${word} part`));
    for (const post of posts) await indexed(post);
    await eventually('all three to be searchable', async () =>
      (await searchPosts(word)).total_hits === 3 ? true : undefined,
    );

    const first = await searchPosts(word, { page: 1, page_size: 2 });
    const second = await searchPosts(word, { page: 2, page_size: 2 });

    expect([first.hits.length, second.hits.length]).toEqual([2, 1]);
    expect(first).toMatchObject({ page: 1, page_size: 2, total_hits: 3, total_pages: 2 });
    expect(new Set([...first.hits, ...second.hits].map((h) => h.id))).toEqual(
      new Set(posts.map((p) => p.id)),
    );
  });

  it('When the index is emptied and a posts reindex runs, then every post is found again', async () => {
    const word = uniqueWord('rebuilt');
    const posts = [];
    for (let i = 0; i < 5; i++) posts.push(await insertPost(`Rebuilt ${i}`, `${word} ${i}`));
    await tables.db.write('search_posts').delete();
    expect(await hitIds(word)).toEqual([]);

    await harness.publish('reindexPosts', { reindex_id: newId(), after_id: null, batch_size: 2 });

    await eventually('the reindex to restore all five', async () =>
      (await searchPosts(word)).total_hits === 5 ? true : undefined,
    );
    expect((await hitIds(word)).sort()).toEqual(posts.map((p) => p.id).sort());
  });

  it.each([
    ['an empty q', { q: '' }],
    ['a q over 200 characters', { q: 'a'.repeat(201) }],
    ['page 0', { q: 'x', page: 0 }],
    ['page_size 0', { q: 'x', page_size: 0 }],
    ['page_size 51', { q: 'x', page_size: 51 }],
  ])(
    'When the query has %s, then it is refused with 400 general:validation_error',
    async (_, query) => {
      const { response, error } = await clientFor(app).GET('/v0/search/posts', {
        params: { query },
      });

      expect(response.status).toBe(400);
      expect(error?.code).toBe('general:validation_error');
    },
  );

  it('When q has 200 characters and page_size is 50, then the search answers', async () => {
    const result = await searchPosts('a'.repeat(200), { page_size: 50 });
    expect(result).toMatchObject({ hits: [], page_size: 50, total_hits: 0, total_pages: 0 });
  });
});

describe('GET /v0/search/users', () => {
  it('When a user is indexed, then the start of the handle, a display name word or a bio word finds it', async () => {
    const surname = uniqueWord('Surname');
    const bioWord = uniqueWord('bio');
    const { user } = await createUser(app.deps, {
      display_name: `Ada ${surname}`,
      bio: `Writes about ${bioWord}.`,
    });
    await app.deps.search.indexUser({
      id: user.id,
      handle: user.handle,
      display_name: user.display_name,
      bio: user.bio,
      profile_image_url: null,
    });
    const expected = {
      id: user.id,
      handle: user.handle,
      display_name: user.display_name,
      bio: user.bio,
      profile_image_url: null,
    };
    try {
      for (const q of [user.handle.slice(0, -2), surname.toLowerCase(), bioWord]) {
        const { data, response } = await clientFor(app).GET('/v0/search/users', {
          params: { query: { q } },
        });
        expect(response.status).toBe(200);
        expect(data).toEqual({
          hits: [expected],
          page: 1,
          page_size: 20,
          total_hits: 1,
          total_pages: 1,
        });
      }
    } finally {
      await app.deps.search.deleteUser(user.id);
      await app.deps.db.write('users').where({ id: user.id }).delete();
    }
  });

  it('When q is left out, then users are listed by handle', async () => {
    const { data, response } = await clientFor(app).GET('/v0/search/users', {
      params: { query: { page_size: 50 } },
    });

    expect(response.status).toBe(200);
    const handles = data!.hits.map((h) => h.handle.toLowerCase());
    expect(handles).toEqual([...handles].sort());
  });

  it.each([
    ['a q over 100 characters', { q: 'a'.repeat(101) }],
    ['page 0', { page: 0 }],
    ['page_size 51', { page_size: 51 }],
  ])(
    'When the query has %s, then it is refused with 400 general:validation_error',
    async (_, query) => {
      const { response, error } = await clientFor(app).GET('/v0/search/users', {
        params: { query },
      });

      expect(response.status).toBe(400);
      expect(error?.code).toBe('general:validation_error');
    },
  );
});

describe('when the search engine is down', () => {
  // The PostgreSQL engine is the database: an app whose database nothing answers for.
  let down: TestApp;

  beforeAll(async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.port = String(await freePort());
    down = await startTestApp({ database: { url: url.href, readUrl: url.href } });
  });

  afterAll(async () => {
    await down?.close();
  });

  it.each([
    ['posts', '/v0/search/posts', { q: 'engine' }],
    ['users', '/v0/search/users', { q: 'ada' }],
  ] as const)(
    'When %s are searched, then the answer is 502 search:query_failed',
    async (_, path, query) => {
      const { response, error } = await clientFor(down).GET(path, { params: { query } });

      expect(response.status).toBe(502);
      expect(error?.code).toBe('search:query_failed');
    },
  );
});

describe('with SEARCH_ENGINE=meilisearch', () => {
  let meili: MeilisearchServer;
  let meiliApp: TestApp;

  beforeAll(async () => {
    meili = await startMeilisearchServer();
    meiliApp = await startTestApp({
      search: { engine: 'meilisearch', meilisearchUrl: meili.url, meilisearchApiKey: meili.apiKey },
    });
    await meiliApp.deps.search.applySettings();
  });

  afterAll(async () => {
    await meiliApp?.close();
    await meili?.close();
  });

  it('When a post is in the index, then the API finds it through Meilisearch with an escaped snippet; once the engine is gone, the answer is 502 search:query_failed', async () => {
    const id = newId();
    await meiliApp.deps.search.indexPost({
      id,
      author_id: authorId,
      title: 'Through Meilisearch',
      content: 'The <b>engine</b> answers.',
      updated_at: new Date(),
    });

    const found = await clientFor(meiliApp).GET('/v0/search/posts', {
      params: { query: { q: 'engine' } },
    });

    expect(found.response.status).toBe(200);
    expect(found.data).toEqual({
      hits: [
        {
          id,
          author_id: authorId,
          title: 'Through Meilisearch',
          snippet: 'The &lt;b&gt;<mark>engine</mark>&lt;/b&gt; answers.',
        },
      ],
      page: 1,
      page_size: 20,
      total_hits: 1,
      total_pages: 1,
    });

    await meili.close();
    const failed = await clientFor(meiliApp).GET('/v0/search/posts', {
      params: { query: { q: 'engine' } },
    });

    expect(failed.response.status).toBe(502);
    expect(failed.error?.code).toBe('search:query_failed');
  });
});
