import { loadWorkerConfig } from '../../../src/config/worker.ts';
import { createStorage } from '../../../src/shared/clients/s3.ts';
import { createDatabase } from '../../../src/shared/db/knex.ts';
import { createUser, uniqueHandle } from '../../support/factories.ts';

/** A verified account a virtual user signs in with. */
export interface LoadUser {
  id: string;
  handle: string;
  email: string;
  password: string;
  displayName: string;
}

export interface LoadUsers {
  users: LoadUser[];
  /** Deletes the accounts with everything the load made for them, rows and post bodies. */
  remove(): Promise<void>;
}

/**
 * Accounts written straight into the primary by the tests' user factory, already verified:
 * sign-up is rate limited per address and mails a token, neither of which a load of signed-in
 * users is about.
 */
export async function createLoadUsers(count: number, prefix: string): Promise<LoadUsers> {
  const url = process.env.DATABASE_URL!;
  const db = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, prefix);
  const users: LoadUser[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const { user, password } = await createUser(
        { db },
        {
          handle: uniqueHandle(prefix),
          display_name: `Load user ${i}`,
        },
      );
      users.push({
        id: user.id,
        handle: user.handle,
        email: user.email,
        password: password!,
        displayName: user.display_name,
      });
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  const ids = users.map((u) => u.id);
  return {
    users,
    async remove() {
      const storage = createStorage(loadWorkerConfig(process.env).storage);
      try {
        const posts: { id: string; storage_key: string }[] = await db
          .write('posts')
          .whereIn('author_id', ids)
          .select('id', 'storage_key');
        await storage.content.deleteMany(posts.map((p) => p.storage_key));
        await db.write('search_posts').whereIn('author_id', ids).delete();
        await db.write('search_users').whereIn('id', ids).delete();
        await db
          .write('action_logs')
          .whereIn(
            'resource_id',
            posts.map((p) => p.id),
          )
          .delete();
        await db.write('action_logs').whereIn('actor_id', ids).delete();
        await db.write('action_logs').whereIn('resource_id', ids).delete();
        await db.write('users').whereIn('id', ids).delete();
      } finally {
        await storage.close();
        await db.close();
      }
    },
  };
}
