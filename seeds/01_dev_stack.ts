import argon2 from 'argon2';
import type { Knex } from 'knex';
import { loadServerConfig } from '../src/config/server.ts';
import { createDependencies, type Dependencies } from '../src/dependencies.ts';
import { createPostsService } from '../src/modules/posts/posts.service.ts';
import type { Storage } from '../src/shared/clients/s3.ts';
import type { SearchEngine } from '../src/shared/clients/search/search-engine.ts';
import { newId } from '../src/shared/db/ids.ts';
import type { PostRow, UserRow } from '../src/shared/db/rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { devPosts } from './data/dev-posts.ts';
import { DEV_PASSWORD, devUsers } from './data/dev-users.ts';

// Dev data for the local stack: verified users with a known password, indexed directly, and
// posts created through the posts service, indexed by the worker from their jobs. Safe to run
// again: rows are found by email and by (author, title), and a re-run resets the accounts to
// the documented state.

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

/**
 * Posts go through the posts service, as an API call would: the body lands in the content
 * bucket, and the row, its action log and its index job commit together, so the worker
 * indexes them once it runs. A re-run leaves a post alone unless its body went missing, which
 * an edit through the same service rewrites.
 */
async function seedPosts(
  knex: Knex,
  deps: Dependencies,
  authors: Map<string, UserRow>,
): Promise<number> {
  const posts = createPostsService(deps);
  for (const post of devPosts) {
    const author = authors.get(post.author_handle);
    if (!author)
      throw new Error(`dev post "${post.title}" names unknown author ${post.author_handle}`);
    const actor = { user: author, ip: null };
    const row = await knex<PostRow>('posts')
      .where({ author_id: author.id, title: post.title })
      .first();
    if (!row) await posts.create(actor, { title: post.title, content: post.content });
    else if (!(await deps.storage.content.get(row.storage_key))) {
      await posts.update(actor, row.id, { content: post.content });
    }
  }
  return devPosts.length;
}

export async function seed(knex: Knex): Promise<void> {
  const config = loadServerConfig(process.env);
  const logger = createLogger({ env: config.env, level: 'warn', service: 'seed' });
  const deps = await createDependencies(config, logger);
  try {
    await deps.search.applySettings();
    const users = await seedUsers(knex, deps.storage, deps.search);
    const posts = await seedPosts(knex, deps, users);
    console.log(
      `seeded ${users.size} users and ${posts} posts; sign in with password "${DEV_PASSWORD}":`,
    );
    for (const user of users.values()) console.log(`  ${user.email.padEnd(20)} @${user.handle}`);
  } finally {
    await deps.close();
  }
}
