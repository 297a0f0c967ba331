import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { signedInClient } from '../support/client.ts';
import { createUser } from '../support/factories.ts';
import { freePort } from '../support/net.ts';
import { eventually } from '../support/wait.ts';
import { jpeg, file, keyOf, png, signedInUploader } from './support/images.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const exists = async (key: string) => (await app.deps.storage.public.get(key)) !== undefined;

const imagesOf = (userId: string) =>
  app.deps.db
    .write('users')
    .where({ id: userId })
    .first<{ profile_image: string | null; banner_image: string | null }>(
      'profile_image',
      'banner_image',
    );

describe('image objects in the public bucket', () => {
  it('When two users upload the same image, then they share one object, and it outlives the first delete but not the second', async () => {
    const first = await signedInUploader(app);
    const second = await signedInUploader(app);
    const image = await jpeg(200, 200);

    const a = await first.client.upload('uploadProfileImage', { file: file(image) });
    const b = await second.client.upload('uploadProfileImage', { file: file(image) });

    expect(a.data!.image_url).toBe(b.data!.image_url);
    const key = keyOf(app, a.data!.image_url);
    expect(await exists(key)).toBe(true);

    expect((await first.client.DELETE('/v0/user/me/profile-image')).response.status).toBe(204);
    expect(await exists(key)).toBe(true);
    expect((await imagesOf(first.userId)).profile_image).toBeNull();

    expect((await second.client.DELETE('/v0/user/me/profile-image')).response.status).toBe(204);
    expect(await exists(key)).toBe(false);
  });

  it('When one user has the same image as profile and banner, then removing one keeps the object for the other', async () => {
    const { client } = await signedInUploader(app);
    // 512×512 is what both kinds make of it, so both come out byte for byte the same.
    const image = await png(512, 512);
    const profile = await client.upload('uploadProfileImage', { file: file(image) });
    const banner = await client.upload('uploadBannerImage', { file: file(image) });
    expect(profile.data!.image_url).toBe(banner.data!.image_url);
    const key = keyOf(app, profile.data!.image_url);

    await client.DELETE('/v0/user/me/banner-image');

    expect(await exists(key)).toBe(true);
  });

  it('When a user replaces their image, then the old object is deleted and the new one kept', async () => {
    const { userId, client } = await signedInUploader(app);
    const old = await client.upload('uploadBannerImage', { file: file(await jpeg(300, 100)) });
    const oldKey = keyOf(app, old.data!.image_url);

    const replacement = await client.upload('uploadBannerImage', {
      file: file(await jpeg(300, 100)),
    });

    const newKey = keyOf(app, replacement.data!.image_url);
    expect(newKey).not.toBe(oldKey);
    expect(await exists(oldKey)).toBe(false);
    expect(await exists(newKey)).toBe(true);
    expect((await imagesOf(userId)).banner_image).toBe(newKey);
  });

  it('When the user has no image, then deleting it answers 404 general:not_found', async () => {
    const { client } = await signedInUploader(app);

    for (const path of ['/v0/user/me/profile-image', '/v0/user/me/banner-image'] as const) {
      const { error, response } = await client.DELETE(path);
      expect(response.status).toBe(404);
      expect(error?.code).toBe('general:not_found');
    }
  });

  it('When a user replaces their image four times at once, then exactly one object is referenced and none of the others is left behind', async () => {
    const { userId, client } = await signedInUploader(app);
    const initial = await client.upload('uploadProfileImage', { file: file(await jpeg(256, 256)) });
    const images = await Promise.all([1, 2, 3, 4].map(() => jpeg(256, 256)));

    const answers = await Promise.all(
      images.map((image) => client.upload('uploadProfileImage', { file: file(image) })),
    );

    expect(answers.map((answer) => answer.response.status)).toEqual([201, 201, 201, 201]);
    const keys = [initial, ...answers].map((answer) => keyOf(app, answer.data!.image_url));
    expect(new Set(keys).size).toBe(5);
    const referenced = (await imagesOf(userId)).profile_image;
    expect(keys).toContain(referenced);
    const present = [];
    for (const key of keys) if (await exists(key)) present.push(key);
    expect(present).toEqual([referenced]);
  });
});

describe('when the image store is down', () => {
  let broken: TestApp;

  beforeAll(async () => {
    const storage = app.deps.config.storage;
    // The same database and Redis, but every call to the image bucket is refused.
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    broken = await startTestApp({
      storage: { createBuckets: false, public: { ...storage.public, endpoint } },
    });
  });
  afterAll(async () => {
    await broken.close();
  });

  it('When an upload cannot be stored, then 503 system:dependency_unavailable and the previous image stays in place', async () => {
    const { user, password } = await createUser(app.deps);
    const credentials = { email: user.email, password: password! };
    const healthy = await signedInClient(app, credentials);
    const previous = await healthy.upload('uploadProfileImage', {
      file: file(await jpeg(100, 100)),
    });
    const previousKey = keyOf(app, previous.data!.image_url);
    const cut = await signedInClient(broken, credentials);

    const { error, response } = await cut.upload('uploadProfileImage', {
      file: file(await jpeg(100, 100)),
    });

    expect(response.status).toBe(503);
    expect(error?.code).toBe('system:dependency_unavailable');
    expect((await imagesOf(user.id)).profile_image).toBe(previousKey);
    expect(await exists(previousKey)).toBe(true);
    const edits = await app.deps.db
      .write('action_logs')
      .where({ action: 'user:edit', resource_id: user.id })
      .count<{ count: string }[]>('* as count');
    expect(Number(edits[0]!.count)).toBe(1);
  });
});

interface SilentStore {
  endpoint: string;
  /** The connections it accepted and never answered. */
  held: Set<Socket>;
  close(): Promise<void>;
}

/** An "S3 server" that accepts connections and never answers: a store that hangs. */
async function startSilentStore(): Promise<SilentStore> {
  const held = new Set<Socket>();
  const server = createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    async close() {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('when the image store accepts connections but never answers', () => {
  let silent: SilentStore;
  let hanging: TestApp;

  beforeAll(async () => {
    silent = await startSilentStore();
    const { endpoint } = silent;
    const storage = app.deps.config.storage;
    hanging = await startTestApp({
      storage: {
        createBuckets: false,
        requestTimeoutMs: 300,
        public: { ...storage.public, endpoint },
      },
    });
  });
  afterAll(async () => {
    await hanging.close();
    await silent.close();
  });

  it('When an upload waits on the store, then the S3 timeout answers 503 system:dependency_unavailable, not the request timeout', async () => {
    const { user, password } = await createUser(app.deps);
    const client = await signedInClient(hanging, { email: user.email, password: password! });

    const { error, response } = await client.upload('uploadProfileImage', {
      file: file(await jpeg(100, 100)),
    });

    expect(response.status).toBe(503);
    expect(error?.code).toBe('system:dependency_unavailable');
    expect(silent.held.size).toBeGreaterThan(0);
    expect((await imagesOf(user.id)).profile_image).toBeNull();
  });
});

describe('when the image store hangs under more uploads than the database pool has connections', () => {
  const POOL = 3;
  const UPLOADS = 8;
  let silent: SilentStore;
  let hanging: TestApp;

  beforeAll(async () => {
    silent = await startSilentStore();
    const { endpoint } = silent;
    const storage = app.deps.config.storage;
    hanging = await startTestApp({
      database: { poolMax: POOL },
      storage: {
        createBuckets: false,
        // Two attempts: each upload waits on the store for about 6 s.
        requestTimeoutMs: 3_000,
        public: { ...storage.public, endpoint },
      },
    });
  });
  afterAll(async () => {
    await hanging.close();
    await silent.close();
  });

  it('When every upload waits on the store, then a request that needs the primary still answers at once, and the uploads get 503', async () => {
    const uploader = await signedInUploader(hanging);
    const editor = await signedInUploader(hanging);
    const images = await Promise.all(Array.from({ length: UPLOADS }, () => jpeg(64, 64)));

    const uploads = images.map((image) =>
      uploader.client.upload('uploadProfileImage', { file: file(image) }),
    );
    // Every upload is now inside its PUT to the silent store.
    await eventually(() => silent.held.size >= UPLOADS, 10_000);
    const started = performance.now();
    const edit = await editor.client.PATCH('/v0/user/me', { body: { display_name: 'Still here' } });
    const editMs = performance.now() - started;

    expect(edit.response.status).toBe(200);
    // A write on an idle pool takes tens of milliseconds. Had the uploads held connections
    // through their PUTs, it would wait for one to time out: over 6 s, or the pool's 10 s.
    expect(editMs).toBeLessThan(3_000);
    const answers = await Promise.all(uploads);
    expect(answers.map((answer) => answer.error?.code)).toEqual(
      images.map(() => 'system:dependency_unavailable'),
    );
    expect((await imagesOf(uploader.userId)).profile_image).toBeNull();
  }, 60_000);
});
