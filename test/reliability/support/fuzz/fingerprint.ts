import type { Redis } from 'ioredis';
import { redisKeys } from '../../../../src/shared/constants/redis-keys.ts';
import type { Database } from '../../../../src/shared/db/knex.ts';

/** Every key matching a SCAN pattern, in order. */
async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<
    string[]
  >) {
    keys.push(...batch);
  }
  return keys.sort();
}

/**
 * What the fuzz users own in Redis besides their sessions: failure budgets, email tokens, used
 * TOTP codes, user-keyed rate-limit windows, registration notices. Each by its serialised value
 * (DUMP carries no TTL, so a key that only ages keeps its print). The session index is left
 * out: each request slides its sessions' scores; its size is printed instead.
 */
async function userKeys(redis: Redis, userId: string): Promise<Record<string, string>> {
  const keys = (await keysMatching(redis, `*${userId}*`)).filter(
    (key) => key !== redisKeys.userSessions(userId),
  );
  const values = await Promise.all(keys.map((key) => redis.dumpBuffer(key)));
  return Object.fromEntries(keys.map((key, i) => [key, values[i]?.toString('base64') ?? '']));
}

/** Keys named by a random token or hash, not by user: how many there are. */
const TOKEN_KEYS = ['totp_temp_token:*', 'oauth_state:*', 'oauth_pending_signup:*'];

export interface FingerprintScope {
  /**
   * The Redis state a refusal in front of the handler must leave too. A handler's own refusal
   * (a wrong password) spends budgets and rate-limit slots by design: prints taken around one
   * leave it out.
   */
  redisState: boolean;
}

/**
 * What a refused request must leave as it was: the fuzz users' rows and posts, their sessions,
 * the size of every table a request can write to and, in the full scope, the fuzz users' Redis
 * keys and the number of token-keyed ones. Equal fingerprints before and after a batch of
 * refused requests mean the batch stored nothing.
 */
export async function fingerprint(
  db: Database,
  redis: Redis,
  userIds: string[],
  scope: FingerprintScope,
): Promise<Fingerprint> {
  const { rows } = await db.write.raw<{ rows: { f: unknown }[] }>(
    `select json_build_object(
       'users_rows', (select json_agg(u order by u.id) from users u where id = any(:users)),
       'posts', (select json_agg(p order by p.id) from posts p where author_id = any(:users)),
       'users', (select count(*) from users),
       'all_posts', (select count(*) from posts),
       'action_logs', (select count(*) from action_logs),
       'connections', (select count(*) from user_oauth_connections),
       'outbox', (select count(*) from outbox),
       'search_posts', (select count(*) from search_posts),
       'search_users', (select count(*) from search_users)
     ) as f`,
    { users: userIds },
  );
  const sessions = await Promise.all(userIds.map((id) => redis.zcard(redisKeys.userSessions(id))));
  const print: Record<string, unknown> = { ...(rows[0]!.f as object), sessions };
  if (scope.redisState) {
    const keys = await Promise.all(userIds.map((id) => userKeys(redis, id)));
    keys.forEach((owned, i) => (print[`redis keys of ${userIds[i]}`] = owned));
    for (const pattern of TOKEN_KEYS) print[pattern] = (await keysMatching(redis, pattern)).length;
  }
  return Object.fromEntries(
    Object.entries(print).map(([part, value]) => [part, JSON.stringify(value)]),
  );
}

/** Each part of what is stored, printed. */
export type Fingerprint = Record<string, string>;

/** The parts that differ between two prints; [] when nothing changed. */
export const changedParts = (before: Fingerprint, after: Fingerprint) =>
  Object.keys({ ...before, ...after }).filter((part) => before[part] !== after[part]);

/** Rate-limit windows opened for any of these client addresses: a refusal must open none. */
export async function windowsOfAddresses(redis: Redis, addresses: string[]): Promise<string[]> {
  const wanted = new Set(addresses.map((address) => `ip:${address}`));
  return (await keysMatching(redis, `${redisKeys.rateLimit('*', 'ip:*')}`)).filter((key) =>
    wanted.has(key.slice(key.indexOf(':ip:') + 1)),
  );
}
