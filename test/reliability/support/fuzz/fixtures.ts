import { randomBytes, randomInt } from 'node:crypto';
import sharp from 'sharp';
import { hashPassword } from '../../../../src/modules/auth/password.ts';
import { revokeUserSessions } from '../../../../src/modules/auth/session/session.revocation.ts';
import { loadServerConfig } from '../../../../src/config/server.ts';
import { closeRedis, createRedis, type RedisClient } from '../../../../src/shared/clients/redis.ts';
import { createStorage, type Bucket } from '../../../../src/shared/clients/s3.ts';
import { redisKeys } from '../../../../src/shared/constants/redis-keys.ts';
import { newId } from '../../../../src/shared/db/ids.ts';
import { createDatabase, type Database } from '../../../../src/shared/db/knex.ts';
import { cookieFrom } from '../../../support/factories.ts';

export interface FuzzUser {
  id: string;
  handle: string;
  email: string;
  password: string;
}

/** The rows the fuzzer aims at, and a way to stay signed in as its user. */
export interface FuzzWorld {
  db: Database;
  redis: RedisClient;
  user: FuzzUser;
  other: FuzzUser;
  /** Ids and names of rows that exist, for parameters and fields to point at. */
  realValues: string[];
  /** Small images of each accepted type, and some bytes that are not one. */
  images: Uint8Array[];
  /** The fuzz user's session cookie, signing in again when the last one was ended. */
  session(): Promise<string>;
  /** How many times the fuzz user has signed in; each login adds a session. */
  readonly logins: number;
  /** Notes the session may have ended (a logout, a revoke): the next session() checks it. */
  sessionMayHaveEnded(): void;
  /**
   * Forgets the fuzz user's failure budgets and user-keyed rate-limit windows: five wrong codes
   * or passwords would otherwise lock the TOTP and password operations for the rest of the run,
   * and every later request of theirs would test the lock alone.
   */
  resetLimits(): Promise<void>;
  /** A distinct client address for each request, so per-IP limits count each once. */
  nextAddress(): string;
  /** Deletes every row, session and job the run created. */
  cleanUp(): Promise<void>;
}

// From a random start: the limiters' windows (up to an hour) outlive a run, and a rerun that
// reused the last run's addresses would find them spent.
let addresses = randomInt(2 ** 24);
const addressOf = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const nextAddress = () => {
  addresses += 1;
  return addressOf(addresses);
};

async function insertUser(db: Database, prefix: string): Promise<FuzzUser> {
  const handle = `${prefix}${randomBytes(5).toString('hex')}`;
  const user = {
    id: newId(),
    handle,
    email: `${handle}@fuzz.example`,
    password: randomBytes(18).toString('base64url'),
  };
  await db.write('users').insert({
    id: user.id,
    handle,
    display_name: `Fuzz ${handle}`,
    email: user.email,
    password: await hashPassword(user.password),
    verified_at: new Date(),
  });
  return user;
}

async function login(baseUrl: string, user: FuzzUser): Promise<string> {
  const response = await fetch(`${baseUrl}/v0/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': nextAddress() },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  const cookie = cookieFrom(response);
  if (response.status !== 204 || !cookie) throw new Error(`fuzz login failed: ${response.status}`);
  return cookie;
}

async function createPost(baseUrl: string, cookie: string, title: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v0/posts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-forwarded-for': nextAddress() },
    body: JSON.stringify({ title, content: `Body of ${title}` }),
  });
  if (response.status !== 201)
    throw new Error(`fuzz post failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

async function sampleImages(): Promise<Uint8Array[]> {
  const base = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } });
  const png = await base(8, 8).png().toBuffer();
  return [
    png,
    await base(40, 3).jpeg().toBuffer(),
    await base(16, 16).webp().toBuffer(),
    await base(3, 5).gif().toBuffer(),
    await base(2500, 4).png().toBuffer(),
    png.subarray(0, png.length - 20),
    Buffer.from('GIF89a not really'),
    randomBytes(64),
    Buffer.alloc(0),
  ];
}

/** The object keys under each prefix of a bucket, to tell afterwards which ones a run wrote. */
async function listKeys(bucket: Bucket, prefix: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const object of bucket.list(prefix)) keys.add(object.key);
  return keys;
}

/** Every key matching a SCAN pattern. */
async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<
    string[]
  >) {
    keys.push(...batch);
  }
  return keys;
}

export async function createFuzzWorld(baseUrl: string, env: NodeJS.ProcessEnv): Promise<FuzzWorld> {
  const startedAt = new Date();
  const firstAddress = addresses + 1;
  const url = env.DATABASE_URL!;
  const db = createDatabase({ url, readUrl: url, poolMax: 2, readPoolMax: 1 }, 'fuzz');
  const redis = await createRedis(env.REDIS_SESSION_URL!, 'fuzz');
  const storage = createStorage(loadServerConfig(env).storage);
  // Listed before the run writes any: S3 dates objects to the second, so "written since the
  // start" would miss the blobs of the run's first second.
  const blobsBefore = {
    content: await listKeys(storage.content, 'posts/'),
    public: await listKeys(storage.public, 'user-images/'),
  };

  /** Deletes every row, session, Redis key and blob the run created, then disconnects. */
  async function cleanUp() {
    const created = (await db
      .write('users')
      .where('created_at', '>=', startedAt)
      .pluck('id')) as string[];
    for (const id of created) {
      await revokeUserSessions(redis, id);
      const owned = await scanKeys(redis, `*${id}*`);
      if (owned.length > 0) await redis.del(...owned);
    }
    const runAddresses = new Set<string>();
    for (let n = firstAddress; n <= addresses; n += 1) runAddresses.add(addressOf(n));
    const windows = (await scanKeys(redis, redisKeys.rateLimit('*', 'ip:*'))).filter((key) =>
      runAddresses.has(key.slice(key.indexOf(':ip:') + 4)),
    );
    if (windows.length > 0) await redis.del(...windows);
    await db.write('outbox').where('created_at', '>=', startedAt).delete();
    await db.write('action_logs').where('created_at', '>=', startedAt).delete();
    await db.write('search_posts').whereIn('author_id', created).delete();
    await db.write('search_users').whereIn('id', created).delete();
    await db.write('users').whereIn('id', created).delete();
    // Their blobs too: the jobs that would have deleted some were in the outbox just emptied.
    await removeNewUnreferenced(storage.content, 'posts/', blobsBefore.content, async (keys) =>
      db.write('posts').whereIn('storage_key', keys).pluck<string[]>('storage_key'),
    );
    await removeNewUnreferenced(
      storage.public,
      'user-images/',
      blobsBefore.public,
      async (keys) => [
        ...(await db
          .write('users')
          .whereIn('profile_image', keys)
          .pluck<string[]>('profile_image')),
        ...(await db.write('users').whereIn('banner_image', keys).pluck<string[]>('banner_image')),
      ],
    );
    await storage.close();
    await closeRedis(redis);
    await db.close();
  }

  try {
    return await populate();
  } catch (error) {
    await cleanUp();
    throw error;
  }

  async function populate(): Promise<FuzzWorld> {
    const user = await insertUser(db, 'fz');
    const other = await insertUser(db, 'fo');
    const otherCookie = await login(baseUrl, other);
    const otherPost = await createPost(baseUrl, otherCookie, 'Another user’s post');
    // A second session of the fuzz user: revoking it is a real path; revoking the current one
    // would sign the fuzzer out.
    await login(baseUrl, user);
    let cookie = await login(baseUrl, user);
    const ownPosts = [
      await createPost(baseUrl, cookie, 'Fuzz post one'),
      await createPost(baseUrl, cookie, 'Fuzz post two'),
    ];
    const sessions = (await (
      await fetch(`${baseUrl}/v0/auth/sessions`, { headers: { cookie } })
    ).json()) as { sessions: { id: string; is_current: boolean }[] };
    const logs = (await db
      .write('action_logs')
      .whereIn('resource_id', [...ownPosts, otherPost])
      .pluck('id')) as string[];

    let checkSession = false;
    let logins = 0;
    return {
      db,
      redis,
      user,
      other,
      realValues: [
        user.id,
        other.id,
        user.handle,
        other.handle.toUpperCase(),
        otherPost,
        ...ownPosts,
        ...logs,
        ...sessions.sessions.filter((s) => !s.is_current).map((s) => s.id),
      ],
      images: await sampleImages(),
      async session() {
        if (checkSession) {
          checkSession = false;
          const me = await fetch(`${baseUrl}/v0/user/me`, { headers: { cookie } });
          await me.body?.cancel();
          if (me.status !== 200) {
            cookie = await login(baseUrl, user);
            logins += 1;
          }
        }
        return cookie;
      },
      get logins() {
        return logins;
      },
      sessionMayHaveEnded() {
        checkSession = true;
      },
      async resetLimits() {
        const keys = [
          ...(await redis.keys(redisKeys.failureBudget('*', user.id))),
          ...(await redis.keys(redisKeys.rateLimit('*', `user:${user.id}`))),
        ];
        if (keys.length > 0) await redis.del(...keys);
      },
      nextAddress,
      cleanUp,
    };
  }
}

/** Deletes the objects under `prefix` that were not there before and that no row names. */
async function removeNewUnreferenced(
  bucket: Bucket,
  prefix: string,
  before: Set<string>,
  referenced: (keys: string[]) => Promise<string[]>,
): Promise<void> {
  const keys = [...(await listKeys(bucket, prefix))].filter((key) => !before.has(key));
  if (keys.length === 0) return;
  const kept = new Set(await referenced(keys));
  await bucket.deleteMany(keys.filter((key) => !kept.has(key)));
}
