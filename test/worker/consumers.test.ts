import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createMailer, type Mailer } from '../../src/shared/clients/mailer.ts';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';
import { createStorage, type Storage } from '../../src/shared/clients/s3.ts';
import { createPostgresSearchEngine } from '../../src/shared/clients/search/postgres-engine.ts';
import type { SearchEngine } from '../../src/shared/clients/search/search-engine.ts';
import { storageKeys } from '../../src/shared/constants/storage-keys.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';
import type { PostRow, UserRow } from '../../src/shared/db/rows.ts';
import { createConsumers } from '../../worker/consumers/index.ts';
import {
  createRunnerHarness,
  eventually,
  logger,
  type RunnerHarness,
} from './support/runner-harness.ts';

/** A word no other test's data contains (letters only: the search tokenizer splits digits off). */
function uniqueWord(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`.replace(
    /\d/g,
    (d) => 'abcdefghij'[Number(d)]!,
  );
}

let harness: RunnerHarness;
let db: Database;
let storage: Storage;
let search: SearchEngine;
let mailer: Mailer;
let redis: RedisClient;
let cacheRedis: RedisClient;
const userIds: string[] = [];
const contentKeys: string[] = [];

async function insertUser(overrides: Partial<UserRow> = {}): Promise<UserRow> {
  const handle = uniqueWord('u');
  const [row] = await db
    .write<UserRow>('users')
    .insert({
      id: newId(),
      handle,
      display_name: `Display ${handle}`,
      email: `${handle}@example.test`,
      ...overrides,
    })
    .returning('*');
  userIds.push(row!.id);
  return row!;
}

async function insertPost(authorId: string, title: string, content: string): Promise<PostRow> {
  const id = newId();
  const key = storageKeys.postContent(id);
  await storage.content.put(key, content, 'text/plain; charset=utf-8');
  contentKeys.push(key);
  const [row] = await db
    .write<PostRow>('posts')
    .insert({ id, author_id: authorId, title, storage_key: key })
    .returning('*');
  return row!;
}

async function postHits(word: string): Promise<string[]> {
  const result = await search.searchPosts({ q: word, page: 1, pageSize: 50 });
  return result.hits.map((hit) => hit.id).sort();
}

const until = (what: string, check: () => Promise<boolean>) =>
  eventually(what, async () => ((await check()) ? true : undefined));

/** Reindex walks the replica, which trails the primary by up to a few hundred milliseconds. */
async function visibleOnReplica(table: 'posts' | 'users', ids: string[]): Promise<void> {
  await until(`the ${table} fixtures to reach the replica`, async () => {
    const found = await db.read(table).whereIn('id', ids).count({ n: '*' }).first();
    return Number(found?.n) === ids.length;
  });
}

beforeAll(async () => {
  const config = loadWorkerConfig(process.env);
  db = createDatabase(config.database, 'worker-consumers-test');
  storage = createStorage(config.storage);
  await storage.ensureBuckets();
  search = createPostgresSearchEngine(db.write);
  harness = await createRunnerHarness();
  // The email consumer has its own tests (email-consumer.test.ts); this mailer never sends.
  mailer = createMailer(config.smtp);
  redis = await createRedis(config.redis.sessionUrl, 'worker-consumers-test');
  cacheRedis = await createRedis(config.redis.cacheUrl, 'worker-consumers-test-cache');
  await harness.start(
    await createConsumers({
      config,
      logger,
      db,
      redis,
      cacheRedis,
      storage,
      search,
      mailer,
      nats: harness.nats,
    }),
  );
});

afterAll(async () => {
  await harness?.close();
  if (redis) await closeRedis(redis);
  if (cacheRedis) await closeRedis(cacheRedis);
  mailer?.close();
  if (db) {
    const posts = await db.write('posts').whereIn('author_id', userIds).pluck('id');
    await db.write('search_posts').whereIn('id', posts).delete();
    await db.write('search_users').whereIn('id', userIds).delete();
    // Posts go with their authors (ON DELETE CASCADE).
    await db.write('users').whereIn('id', userIds).delete();
    await db.close();
  }
  if (storage) {
    await storage.content.deleteMany(contentKeys);
    await storage.close();
  }
});

describe('index-post consumer', () => {
  it('When a post is indexed, then a word of its stored content finds it; once its row is gone, a new index job removes it', async () => {
    const author = await insertUser();
    const word = uniqueWord('kw');
    const post = await insertPost(author.id, 'Indexed post', `Some text with ${word} inside.`);

    await harness.publish('indexPost', { post_id: post.id, action: 'index' });
    await until('the post to be searchable', async () => (await postHits(word)).length === 1);
    const [hit] = (await search.searchPosts({ q: word, page: 1, pageSize: 5 })).hits;
    expect(hit).toMatchObject({ id: post.id, author_id: author.id, title: 'Indexed post' });
    expect(hit?.snippet).toContain(word);

    await db.write('posts').where({ id: post.id }).delete();
    await harness.publish('indexPost', { post_id: post.id, action: 'index' });
    await until(
      'the missing post to leave the index',
      async () => (await postHits(word)).length === 0,
    );
  });

  it('When a delete job arrives, then the post leaves the index', async () => {
    const author = await insertUser();
    const word = uniqueWord('dl');
    const post = await insertPost(author.id, 'Doomed', word);
    await harness.publish('indexPost', { post_id: post.id, action: 'index' });
    await until('the post to be searchable', async () => (await postHits(word)).length === 1);

    await harness.publish('indexPost', { post_id: post.id, action: 'delete' });

    await until('the post to leave the index', async () => (await postHits(word)).length === 0);
    expect(await db.write('posts').where({ id: post.id }).first()).toBeDefined();
  });
});

describe('index-user consumer', () => {
  it('When a user is indexed, then its handle finds its public document with the profile image URL', async () => {
    const user = await insertUser({ bio: 'Writes tests.', profile_image: 'user-images/abc.webp' });

    await harness.publish('indexUser', { user_id: user.id, action: 'index' });

    const hits = await eventually('the user to be searchable', async () => {
      const result = await search.searchUsers({ q: user.handle, page: 1, pageSize: 5 });
      return result.hits.length > 0 ? result.hits : undefined;
    });
    expect(hits).toEqual([
      {
        id: user.id,
        handle: user.handle,
        display_name: user.display_name,
        bio: 'Writes tests.',
        profile_image_url: storage.public.publicUrl('user-images/abc.webp'),
      },
    ]);
  });
});

describe('delete-content consumer', () => {
  it('When a delete-content job lists stored keys, then the objects are gone from the content bucket', async () => {
    const prefix = `test/${newId()}`;
    const keys = [`${prefix}/a`, `${prefix}/b`, `${prefix}/c`];
    await Promise.all(keys.map((key) => storage.content.put(key, 'x', 'text/plain')));
    contentKeys.push(...keys);

    await harness.publish('deleteContent', { storage_keys: [...keys, `${prefix}/never-existed`] });

    await until('the objects to be deleted', async () => {
      const left = await Promise.all(keys.map((key) => storage.content.get(key)));
      return left.every((body) => body === undefined);
    });
    expect(await harness.deadLetters()).toEqual([]);
  });
});

describe('reindex consumers', () => {
  it('When a posts reindex starts, then every post after the starting id is indexed, batch by batch', async () => {
    // Posts of other test files may exist before this id; the walk starts after it.
    const startAfter = newId();
    const author = await insertUser();
    const word = uniqueWord('rx');
    const posts = [];
    for (let i = 0; i < 5; i++)
      posts.push(await insertPost(author.id, `Post ${i}`, `${word} ${i}`));
    await visibleOnReplica(
      'posts',
      posts.map((p) => p.id),
    );

    await harness.publish('reindexPosts', {
      reindex_id: newId(),
      after_id: startAfter,
      batch_size: 2,
    });

    await until('all five posts to be searchable', async () => (await postHits(word)).length === 5);
    expect(await postHits(word)).toEqual(posts.map((p) => p.id).sort());
    await until(
      'the chain of batches to finish',
      async () => (await harness.streamMessages('reindexPosts')) === 0,
    );
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('When a users reindex starts, then every user after the starting id is indexed', async () => {
    const startAfter = newId();
    const surname = uniqueWord('sn');
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await insertUser({ display_name: `User ${surname}` }));
    await visibleOnReplica(
      'users',
      users.map((u) => u.id),
    );

    await harness.publish('reindexUsers', {
      reindex_id: newId(),
      after_id: startAfter,
      batch_size: 2,
    });

    const found = await eventually('all three users to be searchable', async () => {
      const result = await search.searchUsers({ q: surname, page: 1, pageSize: 10 });
      return result.total_hits === 3 ? result.hits : undefined;
    });
    expect(found.map((u) => u.id).sort()).toEqual(users.map((u) => u.id).sort());
  });
});
