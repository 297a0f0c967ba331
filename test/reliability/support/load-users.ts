import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../../src/modules/auth/password.ts';
import { newId } from '../../../src/shared/db/ids.ts';
import { createDatabase, type Database } from '../../../src/shared/db/knex.ts';

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
  /** Deletes the accounts with everything the load made for them (posts cascade). */
  remove(): Promise<void>;
}

/**
 * Accounts written straight into the primary, already verified: sign-up is rate limited per
 * address and mails a token, neither of which a load of signed-in users is about.
 */
export async function createLoadUsers(count: number, prefix: string): Promise<LoadUsers> {
  const url = process.env.DATABASE_URL!;
  const db: Database = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, prefix);
  const password = randomBytes(18).toString('base64url');
  const hash = await hashPassword(password);
  const users = Array.from({ length: count }, (_, i) => {
    const handle = `${prefix}${i}${randomBytes(4).toString('hex')}`;
    return {
      id: newId(),
      handle,
      email: `${handle}@load.example`,
      password,
      displayName: `Load user ${i}`,
    };
  });
  await db.write('users').insert(
    users.map((u) => ({
      id: u.id,
      handle: u.handle,
      display_name: u.displayName,
      email: u.email,
      password: hash,
      verified_at: new Date(),
    })),
  );
  const ids = users.map((u) => u.id);
  return {
    users,
    async remove() {
      const postIds = db.write('posts').whereIn('author_id', ids).select('id');
      await db.write('search_posts').whereIn('author_id', ids).delete();
      await db.write('search_users').whereIn('id', ids).delete();
      await db.write('action_logs').whereIn('resource_id', postIds).delete();
      await db.write('action_logs').whereIn('actor_id', ids).delete();
      await db.write('action_logs').whereIn('resource_id', ids).delete();
      await db.write('users').whereIn('id', ids).delete();
      await db.close();
    },
  };
}
