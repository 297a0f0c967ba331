import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobStreams } from '../../src/shared/constants/jobs.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor } from '../support/client.ts';
import { createSignedInUser } from '../support/factories.ts';
import {
  animatedGif,
  animatedWebp,
  file,
  gif,
  jpeg,
  jpegRotated,
  jpegWithGps,
  keyOf,
  png,
  sendMultipart,
  signedInUploader,
  webp,
} from './support/images.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

const stored = async (url: string) => {
  const bytes = await app.deps.storage.public.get(keyOf(app, url));
  if (!bytes) throw new Error(`nothing stored for ${url}`);
  return bytes;
};

describe('uploading a profile or banner image', () => {
  it.each([
    ['JPEG', () => jpeg(800, 600)],
    ['PNG', () => png(640, 480)],
    ['WebP', () => webp(1024, 700)],
    ['GIF', () => gif(300, 200)],
  ])(
    'When a %s profile image is uploaded, then it is stored as a 512×512 WebP under its SHA-256 and Me shows its URL',
    async (_format, make) => {
      const { userId, client } = await signedInUploader(app);
      const original = await make();

      const { data, error, response } = await client.upload('uploadProfileImage', {
        file: file(original),
      });

      expect(error).toBeUndefined();
      expect(response.status).toBe(201);
      const url = data!.image_url;
      expect(url).toMatch(/^https?:\/\/.+\/user-images\/[0-9a-f]{64}\.webp$/);
      const bytes = await stored(url);
      const { createHash } = await import('node:crypto');
      expect(keyOf(app, url)).toBe(
        `user-images/${createHash('sha256').update(bytes).digest('hex')}.webp`,
      );
      expect(await sharp(bytes).metadata()).toMatchObject({
        format: 'webp',
        width: 512,
        height: 512,
      });
      const me = await client.GET('/v0/user/me');
      expect(me.data).toMatchObject({ id: userId, profile_image_url: url, banner_image_url: null });
    },
  );

  it('When a banner larger than 2000 px is uploaded, then it is scaled to fit 2000×2000 keeping its proportions', async () => {
    const { client } = await signedInUploader(app);

    const { data, error } = await client.upload('uploadBannerImage', {
      file: file(await jpeg(3000, 1000)),
    });

    expect(error).toBeUndefined();
    expect(await sharp(await stored(data!.image_url)).metadata()).toMatchObject({
      format: 'webp',
      width: 2000,
      height: 667,
    });
  });

  it('When a banner smaller than 2000 px is uploaded, then it keeps its size (never enlarged)', async () => {
    const { client } = await signedInUploader(app);

    const { data } = await client.upload('uploadBannerImage', { file: file(await jpeg(300, 200)) });

    expect(await sharp(await stored(data!.image_url)).metadata()).toMatchObject({
      width: 300,
      height: 200,
    });
  });

  it('When a photo carries EXIF orientation 6, then the stored image is turned upright and has no orientation left', async () => {
    const { client } = await signedInUploader(app);
    const sideways = await jpegRotated(600, 400);
    expect((await sharp(sideways).metadata()).orientation).toBe(6);

    const { data } = await client.upload('uploadBannerImage', { file: file(sideways) });

    const metadata = await sharp(await stored(data!.image_url)).metadata();
    expect({ width: metadata.width, height: metadata.height }).toEqual({ width: 400, height: 600 });
    expect(metadata.orientation).toBeUndefined();
  });

  it('When a photo carries GPS coordinates in its EXIF, then the stored image has no EXIF, GPS or camera data', async () => {
    const { client } = await signedInUploader(app);
    const photo = await jpegWithGps(800, 600);
    const before = await sharp(photo).metadata();
    expect(before.exif?.includes('ExpressKitCam')).toBe(true);
    // The GPS IFD pointer, tag 0x8825, in the block's little-endian byte order.
    expect(before.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true);

    const { data } = await client.upload('uploadBannerImage', { file: file(photo) });

    const bytes = await stored(data!.image_url);
    const after = await sharp(bytes).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(bytes.includes('EXIF')).toBe(false);
    expect(bytes.includes('ExpressKitCam')).toBe(false);
  });

  it('When an animated GIF is uploaded, then it comes back an animated WebP with every frame', async () => {
    const { client } = await signedInUploader(app);

    const { data } = await client.upload('uploadProfileImage', {
      file: file(await animatedGif(320, 240, 4)),
    });

    const metadata = await sharp(await stored(data!.image_url), { animated: true }).metadata();
    expect(metadata).toMatchObject({ format: 'webp', width: 512, pages: 4, pageHeight: 512 });
  });

  it('When an animated WebP is uploaded, then it comes back an animated WebP with every frame', async () => {
    const { client } = await signedInUploader(app);

    const { data, response } = await client.upload('uploadBannerImage', {
      file: file(await animatedWebp(300, 200, 3)),
    });

    expect(response.status).toBe(201);
    const metadata = await sharp(await stored(data!.image_url), { animated: true }).metadata();
    expect(metadata).toMatchObject({ format: 'webp', width: 300, pages: 3, pageHeight: 200 });
  });

  it('When a PNG is named photo.jpg and declared image/jpeg, then it is handled by its content', async () => {
    const { client } = await signedInUploader(app);

    const { data, response } = await client.upload('uploadProfileImage', {
      file: file(await png(100, 100), 'photo.jpg', 'image/jpeg'),
    });

    expect(response.status).toBe(201);
    expect((await sharp(await stored(data!.image_url)).metadata()).format).toBe('webp');
  });

  it('When the upload succeeds, then the edit is logged and the user reindexed', async () => {
    const { userId, client } = await signedInUploader(app);

    await client.upload('uploadBannerImage', { file: file(await jpeg(50, 50)) });

    const logs = await app.deps.db
      .write('action_logs')
      .where({ action: 'user:edit', resource_id: userId })
      .select<{ metadata: unknown }[]>('metadata');
    expect(logs).toEqual([{ metadata: { fields: ['banner_image'] } }]);
    const jobs = await app.deps.db
      .write('outbox')
      .where({ subject: jobStreams.indexUser.subject })
      .whereRaw("payload->>'user_id' = ?", [userId])
      .count<{ count: string }[]>('* as count');
    expect(Number(jobs[0]!.count)).toBe(1);
  });

  it('When the image URL is fetched without credentials, then the public bucket serves the WebP', async () => {
    const { client } = await signedInUploader(app);
    const { data } = await client.upload('uploadProfileImage', { file: file(await jpeg(64, 64)) });

    const response = await fetch(data!.image_url);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(await stored(data!.image_url));
  });

  it('When the public profile is read, then it carries the image URLs, not the keys', async () => {
    const { userId, client } = await signedInUploader(app);
    const profile = await client.upload('uploadProfileImage', { file: file(await jpeg(64, 64)) });
    const banner = await client.upload('uploadBannerImage', { file: file(await jpeg(64, 64)) });

    const read = await app.deps.db.write('users').where({ id: userId }).first<{ handle: string }>();
    let answer;
    // Public reads go to the replica, a few milliseconds behind.
    for (let attempt = 0; attempt < 500; attempt += 1) {
      answer = await clientFor(app).GET('/v0/users/profile', {
        params: { query: { handle: read.handle } },
      });
      if (answer.data?.banner_image_url) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(answer?.data).toMatchObject({
      profile_image_url: profile.data!.image_url,
      banner_image_url: banner.data!.image_url,
    });
  });
});

describe('refused uploads', () => {
  it('When a text file is named .png and declared image/png, then 415 file:unsupported_type and the user keeps no image', async () => {
    const { userId, client } = await signedInUploader(app);

    const { error, response } = await client.upload('uploadProfileImage', {
      file: file(Buffer.from('just some text, not an image\n'), 'picture.png', 'image/png'),
    });

    expect(response.status).toBe(415);
    expect(error?.code).toBe('file:unsupported_type');
    const row = await app.deps.db
      .write('users')
      .where({ id: userId })
      .first<{ profile_image: unknown }>();
    expect(row.profile_image).toBeNull();
  });

  it.each([
    ['a truncated JPEG', async () => (await jpeg(800, 600)).subarray(0, 4000)],
    [
      'a PNG signature followed by noise',
      async () => Buffer.concat([(await png(8, 8)).subarray(0, 8), Buffer.alloc(500, 7)]),
    ],
    ['a GIF header with nothing after it', async () => Buffer.from('GIF89a')],
    // Not of another type but of none, and nothing to decode: refused as a broken image.
    ['empty', async () => Buffer.alloc(0)],
  ])('When the file is %s, then 400 file:invalid_image', async (_case, make) => {
    const { client } = await signedInUploader(app);

    const { error, response } = await client.upload('uploadBannerImage', {
      file: file(await make()),
    });

    expect(response.status).toBe(400);
    expect(error?.code).toBe('file:invalid_image');
  });

  it('When the body is JSON instead of multipart, then 415 general:unsupported_media_type', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const response = await fetch(`${app.baseUrl}/v0/user/me/profile-image`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ file: 'aGVsbG8=' }),
    });

    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'general:unsupported_media_type' });
  });

  it.each([
    ['no part at all', []],
    [
      'the image under another name',
      [{ name: 'image', filename: 'a.png', bytes: Buffer.from('x') }],
    ],
    ['a text field named file', [{ name: 'file', bytes: Buffer.from('not a file') }]],
  ])('When the multipart body has %s, then 400 general:validation_error', async (_case, parts) => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const answer = await sendMultipart(app.baseUrl, '/v0/user/me/profile-image', cookie, parts);

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'general:validation_error' });
  });

  it('When the multipart body has two file parts, then 400 general:bad_request', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const image = await png(10, 10);

    const answer = await sendMultipart(app.baseUrl, '/v0/user/me/profile-image', cookie, [
      { name: 'file', filename: 'a.png', bytes: image },
      { name: 'file', filename: 'b.png', bytes: image },
    ]);

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'general:bad_request' });
  });

  it('When the body ends inside the file part, before any closing boundary, then 400 general:bad_request and the server keeps serving', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
    const closingDelimiter = '\r\n--expresskit-test-boundary--\r\n'.length;

    const answer = await sendMultipart(
      app.baseUrl,
      '/v0/user/me/profile-image',
      cookie,
      [{ name: 'file', filename: 'a.png', type: 'image/png', bytes: await png(10, 10) }],
      closingDelimiter + 20,
    );

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'general:bad_request' });
    expect((await fetch(`${app.baseUrl}/v0/user/me`, { headers: { cookie } })).status).toBe(200);
  });

  it('When nobody is signed in, then 401 auth:unauthorized', async () => {
    const { error, response } = await clientFor(app).upload('uploadProfileImage', {
      file: file(await png(10, 10)),
    });

    expect(response.status).toBe(401);
    expect(error?.code).toBe('auth:unauthorized');
  });
});
