import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../src/modules/auth/password.ts';
import { revokeUserSessions } from '../../src/modules/auth/session/session.revocation.ts';
import { closeRedis, createRedis } from '../../src/shared/clients/redis.ts';
import { newId } from '../../src/shared/db/ids.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';

export interface BenchUser {
  userId: string;
  credentials: { email: string; password: string };
  db: Database;
  /** Revokes its sessions and deletes it with its action logs and queued jobs. */
  remove: () => Promise<void>;
}

/** A verified user of the bench's own, written straight into the database. */
export async function createBenchUser(
  env: NodeJS.ProcessEnv,
  handlePrefix: string,
  displayName: string,
): Promise<BenchUser> {
  const url = env.DATABASE_URL!;
  const db = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, 'bench');
  const redis = await createRedis(env.REDIS_SESSION_URL!, 'bench');
  const handle = `${handlePrefix}${randomBytes(6).toString('hex')}`;
  const credentials = {
    email: `${handle}@bench.example`,
    password: randomBytes(18).toString('base64url'),
  };
  const userId = newId();
  await db.write('users').insert({
    id: userId,
    handle,
    display_name: displayName,
    email: credentials.email,
    password: await hashPassword(credentials.password),
    verified_at: new Date(),
  });
  return {
    userId,
    credentials,
    db,
    remove: async () => {
      await revokeUserSessions(redis, userId);
      await db.write('outbox').whereRaw("payload->>'user_id' = ?", [userId]).delete();
      await db.write('action_logs').where({ resource_id: userId }).delete();
      await db.write('users').where({ id: userId }).delete();
      await closeRedis(redis);
      await db.close();
    },
  };
}
