import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createMailer, type Mailer } from '../../src/shared/clients/mailer.ts';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';
import { createStorage, type Storage } from '../../src/shared/clients/s3.ts';
import { createPostgresSearchEngine } from '../../src/shared/clients/search/postgres-engine.ts';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { createDatabase, type Database } from '../../src/shared/db/knex.ts';
import type { UserRow } from '../../src/shared/db/rows.ts';
import { createConsumers } from '../../worker/consumers/index.ts';
import { createUser } from '../support/factories.ts';
import {
  createRunnerHarness,
  eventually,
  logger,
  type RunnerHarness,
  type StartedRunner,
} from './support/runner-harness.ts';

let db: Database;
let storage: Storage;
let redis: RedisClient;
let cacheRedis: RedisClient;
let mailer: Mailer;
let harness: RunnerHarness;
let runner: StartedRunner;
let avatars: Server;
let avatarBase: string;
let png: Buffer;

beforeAll(async () => {
  png = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#3366ff' } })
    .png()
    .toBuffer();
  avatars = createServer((req, res) => {
    const ownImageFor = /^\/set-own-image-first\/(.+)$/.exec(req.url ?? '')?.[1];
    if (ownImageFor !== undefined) {
      // The owner sets a picture while the worker is downloading: after the consumer's check,
      // before its swap.
      void db
        .write('users')
        .where({ id: ownImageFor })
        .update({ profile_image: 'user-images/own.webp' })
        .then(() => {
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end(png);
        });
      return undefined;
    }
    if (req.url === '/avatar.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return res.end(png);
    }
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      return res.end();
    }
    if (req.url === '/not-an-image') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return res.end('this is text, whatever the header says');
    }
    res.writeHead(404);
    res.end();
  });
  avatars.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => avatars.once('listening', () => resolve()));
  avatarBase = `http://127.0.0.1:${(avatars.address() as AddressInfo).port}`;

  // The explicit opt-in that lets the worker fetch from this test's server on 127.0.0.1.
  const config = loadWorkerConfig({
    ...process.env,
    GOOGLE_AVATAR_HOSTS: '127.0.0.1',
    OAUTH_AVATAR_ALLOW_LOOPBACK: 'true',
  });
  db = createDatabase(config.database, 'import-avatar-test');
  storage = createStorage(config.storage);
  await storage.ensureBuckets();
  redis = await createRedis(config.redis.sessionUrl, 'import-avatar-test');
  cacheRedis = await createRedis(config.redis.cacheUrl, 'import-avatar-test-cache');
  mailer = createMailer(config.smtp);
  harness = await createRunnerHarness();
  runner = await harness.start(
    await createConsumers({
      config,
      logger,
      db,
      redis,
      cacheRedis,
      storage,
      search: createPostgresSearchEngine(db.write),
      mailer,
      nats: harness.nats,
    }),
  );
});

afterAll(async () => {
  await harness?.close();
  mailer?.close();
  if (redis) await closeRedis(redis);
  if (cacheRedis) await closeRedis(cacheRedis);
  await storage?.close();
  await db?.close();
  avatars?.closeAllConnections();
  await new Promise<void>((resolve) => avatars?.close(() => resolve()));
});

const durable = jobStreams.importAvatar.durable;
const profileImage = async (userId: string) =>
  (await db.write<UserRow>('users').where({ id: userId }).first())?.profile_image ?? null;

/** Publishes the import and waits until the consumer has finished it (acked, not retried). */
async function importAvatar(userId: string, path: string, base = avatarBase): Promise<void> {
  const before = await runner.metric('worker_jobs_processed_total', durable);
  await harness.publish('importAvatar', { user_id: userId, url: `${base}${path}` });
  await eventually(
    'the import job to be processed',
    async () => (await runner.metric('worker_jobs_processed_total', durable)) > before || undefined,
  );
}

describe('import-avatar consumer', () => {
  it('When the avatar is an image, then it becomes the profile image, stored as content-addressed WebP in the public bucket', async () => {
    const { user } = await createUser({ db }, { password: null });
    await importAvatar(user.id, '/avatar.png');
    const key = await profileImage(user.id);
    expect(key).toMatch(/^user-images\/[0-9a-f]{64}\.webp$/);
    const stored = await storage.public.get(key!);
    expect((await sharp(stored).metadata()).format).toBe('webp');
  });

  it('When the avatar is gone or is not an image, then the job is done and the account has no picture', async () => {
    const { user } = await createUser({ db }, { password: null });
    await importAvatar(user.id, '/missing');
    await importAvatar(user.id, '/not-an-image');
    expect(await profileImage(user.id)).toBeNull();
    expect(await runner.metric('worker_jobs_failed_total', durable)).toBe(0);
  });

  it('When the avatar URL is outside the policy, then the job is done, not retried, and the account has no picture', async () => {
    const { user } = await createUser({ db }, { password: null });
    // A redirect to the metadata address, and a host name that is not on the allow-list.
    await importAvatar(user.id, '/to-metadata');
    await importAvatar(user.id, '/avatar.png', avatarBase.replace('127.0.0.1', 'localhost'));
    expect(await profileImage(user.id)).toBeNull();
    expect(await runner.metric('worker_jobs_failed_total', durable)).toBe(0);
  });

  it('When the user already has a profile image, then the avatar does not replace it', async () => {
    const { user } = await createUser(
      { db },
      { password: null, profile_image: 'user-images/own.webp' },
    );
    await importAvatar(user.id, '/avatar.png');
    expect(await profileImage(user.id)).toBe('user-images/own.webp');
  });

  it('When the user sets a profile image while the avatar downloads, then their image survives', async () => {
    const { user } = await createUser({ db }, { password: null });
    await importAvatar(user.id, `/set-own-image-first/${user.id}`);
    expect(await profileImage(user.id)).toBe('user-images/own.webp');
    expect(await runner.metric('worker_jobs_failed_total', durable)).toBe(0);
  });
});
