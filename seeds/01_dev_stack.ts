import argon2 from 'argon2';
import type { Knex } from 'knex';
import { loadWorkerConfig } from '../src/config/worker.ts';
import { storageKeys } from '../src/shared/constants/storage-keys.ts';
import { createStorage, type Storage } from '../src/shared/clients/s3.ts';
import { createSearchEngine } from '../src/shared/clients/search/create-search-engine.ts';
import type { SearchEngine } from '../src/shared/clients/search/search-engine.ts';
import { newId } from '../src/shared/db/ids.ts';
import type { PostRow, UserRow } from '../src/shared/db/rows.ts';
import { devPosts } from './data/dev-posts.ts';
import { DEV_PASSWORD, devUsers } from './data/dev-users.ts';

// Dev data for the local stack: verified users with a known password, posts whose bodies are
// in the content bucket, and both in the search engine. Safe to run again: rows are found by
// email and by (author, title), and a re-run resets the accounts to the documented state.

const HOUR_MS = 3_600_000;

async function hashPassword(password: string): Promise<string> {
  // The OWASP argon2id baseline, the same parameters the app hashes with.
  return argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
}

async function seedUsers(
  knex: Knex,
  storage: Storage,
  search: SearchEngine,
): Promise<Map<string, UserRow>> {
  const password = await hashPassword(DEV_PASSWORD);
  const byHandle = new Map<string, UserRow>();
  for (const user of devUsers) {
    const existing = await knex<UserRow>('users')
      .whereRaw('lower(email) = ?', [user.email])
      .first();
    const [row] = existing
      ? await knex<UserRow>('users')
          .where({ id: existing.id })
          .update({
            password,
            verified_at: existing.verified_at ?? new Date(),
            updated_at: new Date(),
          })
          .returning('*')
      : await knex<UserRow>('users')
          .insert({ id: newId(), ...user, password, verified_at: new Date() })
          .returning('*');
    if (!row) throw new Error(`seeding user ${user.handle} returned no row`);
    byHandle.set(user.handle, row);
    await search.indexUser({
      id: row.id,
      handle: row.handle,
      display_name: row.display_name,
      bio: row.bio,
      profile_image_url: storage.public.publicUrl(row.profile_image),
    });
  }
  return byHandle;
}

async function seedPosts(
  knex: Knex,
  storage: Storage,
  search: SearchEngine,
  authors: Map<string, UserRow>,
): Promise<number> {
  for (const [i, post] of devPosts.entries()) {
    const author = authors.get(post.author_handle);
    if (!author)
      throw new Error(`dev post "${post.title}" names unknown author ${post.author_handle}`);
    let row = await knex<PostRow>('posts')
      .where({ author_id: author.id, title: post.title })
      .first();
    if (!row) {
      const id = newId();
      // Spread over the past hours so the newest-first listing has a visible order.
      const createdAt = new Date(Date.now() - (devPosts.length - i) * HOUR_MS);
      [row] = await knex<PostRow>('posts')
        .insert({
          id,
          author_id: author.id,
          title: post.title,
          storage_key: storageKeys.postContent(id),
          created_at: createdAt,
          updated_at: createdAt,
        })
        .returning('*');
    }
    if (!row) throw new Error(`seeding post "${post.title}" returned no row`);
    // Rewritten on every run, which also repairs a row whose blob went missing.
    await storage.content.put(row.storage_key, post.content, 'text/plain; charset=utf-8');
    await search.indexPost({
      id: row.id,
      author_id: row.author_id,
      title: row.title,
      content: post.content,
      updated_at: row.updated_at,
    });
  }
  return devPosts.length;
}

export async function seed(knex: Knex): Promise<void> {
  const config = loadWorkerConfig(process.env);
  const storage = createStorage(config.storage);
  const search = createSearchEngine(config.search, knex);
  try {
    if (config.storage.createBuckets) await storage.ensureBuckets();
    await search.applySettings();
    const users = await seedUsers(knex, storage, search);
    const posts = await seedPosts(knex, storage, search, users);
    console.log(
      `seeded ${users.size} users and ${posts} posts; sign in with password "${DEV_PASSWORD}":`,
    );
    for (const user of users.values()) console.log(`  ${user.email.padEnd(20)} @${user.handle}`);
  } finally {
    await search.close();
    await storage.close();
  }
}
