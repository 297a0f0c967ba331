import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageKinds } from '../../src/modules/users/user-images.kinds.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createSignedInUser } from '../support/factories.ts';
import { eventually } from '../support/wait.ts';
import { MAX_INPUT_PIXELS } from '../../src/modules/users/user-images.processor.ts';
import { file, gifFrameBomb, jpeg, pngBomb, signedInUploader } from './support/images.ts';
import type { ClientRequest } from 'node:http';

const MiB = 1024 * 1024;

let app: TestApp;
/** The same app behind a server of this file's own, which counts what it reads off the wire. */
let server: Server;
let baseUrl: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  app = await startTestApp();
  server = createServer(app.built.app);
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await app.close();
});

interface OversizeOutcome {
  status: number;
  body: string;
  /** Bytes the client handed to its socket before the answer came. */
  sentBeforeAnswer: number;
  /** Bytes the server read off the connection, all told. */
  serverRead: number;
}

/**
 * Streams a multipart upload of `total` bytes, a chunk at a time as the socket drains, and
 * stops sending as soon as the answer arrives. A reset after the answer is the server
 * closing a connection whose body it refused, and is expected.
 */
function streamOversize(
  path: string,
  cookie: string,
  total: number,
  framing: 'chunked' | 'content-length',
): Promise<OversizeOutcome> {
  sockets.clear();
  const boundary = 'oversize-boundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n` +
      'Content-Type: image/jpeg\r\n\r\n',
  );
  const chunk = Buffer.alloc(64 * 1024, 0xab);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(`${baseUrl}${path}`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        ...(framing === 'chunked'
          ? { 'transfer-encoding': 'chunked' }
          : { 'content-length': String(total) }),
      },
    });
    req.on('response', (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      const chunks: Buffer[] = [];
      res.on('data', (data: Buffer) => chunks.push(data));
      res.on('end', () => {
        req.destroy();
        // The server side closes too; count once it has.
        setImmediate(() => {
          let serverRead = 0;
          for (const socket of sockets) serverRead += socket.bytesRead;
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            sentBeforeAnswer,
            serverRead,
          });
        });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && sent < total) {
        const piece = sent === 0 ? head : chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('upload limits', () => {
  it.each([
    ['uploadProfileImage', '/v0/user/me/profile-image', imageKinds.profile.maxBytes],
    ['uploadBannerImage', '/v0/user/me/banner-image', imageKinds.banner.maxBytes],
  ] as const)(
    'When %s is streamed 64 MiB of unannounced length, then it answers 413 file:too_large having read little more than its limit',
    async (_operation, path, limit) => {
      const { cookie } = await createSignedInUser(app.deps, app.baseUrl);
      const total = 64 * MiB;

      const outcome = await streamOversize(path, cookie, total, 'chunked');

      expect(outcome.status).toBe(413);
      expect(JSON.parse(outcome.body)).toMatchObject({ status: 413, code: 'file:too_large' });
      // The server stops reading at the limit; the slack is socket buffers and the read in
      // flight when the answer went out. Draining the body would read all 64 MiB.
      expect(outcome.serverRead).toBeGreaterThan(limit);
      expect(outcome.serverRead).toBeLessThan(limit + 8 * MiB);
      expect(outcome.sentBeforeAnswer).toBeLessThan(total / 2);
    },
  );

  it('When a body announces 64 MiB in Content-Length, then 413 file:too_large comes before the body is read', async () => {
    const { cookie } = await createSignedInUser(app.deps, app.baseUrl);

    const outcome = await streamOversize(
      '/v0/user/me/profile-image',
      cookie,
      64 * MiB,
      'content-length',
    );

    expect(outcome.status).toBe(413);
    expect(JSON.parse(outcome.body)).toMatchObject({ status: 413, code: 'file:too_large' });
    // What the server read is the request head and what arrived with it, not the body.
    expect(outcome.serverRead).toBeLessThan(imageKinds.profile.maxBytes);
  });

  it('When an anonymous caller streams an 8 MiB upload, then 401 auth:unauthorized comes before its body is read', async () => {
    const outcome = await streamOversize(
      '/v0/user/me/banner-image',
      'session_id=none',
      imageKinds.banner.maxBytes,
      'chunked',
    );

    expect(outcome.status).toBe(401);
    expect(JSON.parse(outcome.body)).toMatchObject({ status: 401, code: 'auth:unauthorized' });
    // The request head and what the socket buffers held: parsing first would read all 8 MiB.
    expect(outcome.serverRead).toBeLessThan(MiB);
  });

  it('When a file of exactly the profile limit is sent, then the size is no reason to refuse it', async () => {
    const { client } = await signedInUploader(app);
    const image = await jpeg(64, 64);
    // JPEG decoders ignore what follows the end-of-image marker.
    const padded = Buffer.concat([image, Buffer.alloc(imageKinds.profile.maxBytes - image.length)]);

    const { error, response } = await client.upload('uploadProfileImage', { file: file(padded) });

    expect(error).toBeUndefined();
    expect(response.status).toBe(201);
  });
});

describe('uploads in flight', () => {
  let gated: TestApp;
  beforeAll(async () => {
    gated = await startTestApp({ http: { maxConcurrentUploads: 2 } });
  });
  afterAll(async () => {
    await gated.close();
  });

  const uploadsInFlight = async () => {
    const gauge = await gated.built.metricsRegistry
      .getSingleMetric('http_uploads_in_flight')
      ?.get();
    return gauge?.values[0]?.value;
  };

  interface HeldUpload {
    req: ClientRequest;
    /** Set when the server answered it, which it must not while the upload is incomplete. */
    answered: boolean;
  }

  /** An upload that sends its head and the start of its file, then waits. */
  function holdUpload(cookie: string): HeldUpload {
    const req = request(`${gated.baseUrl}/v0/user/me/banner-image`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'multipart/form-data; boundary=held',
        'transfer-encoding': 'chunked',
      },
    });
    const held = { req, answered: false };
    req.on('response', () => (held.answered = true));
    req.on('error', () => undefined);
    req.write('--held\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n');
    return held;
  }

  it('When as many uploads as the limit are being read, then another answers 503 system:overloaded at once, and is accepted once they end', async () => {
    const { cookie } = await createSignedInUser(gated.deps, gated.baseUrl);
    const { client } = await signedInUploader(gated);
    const image = await jpeg(32, 32);
    const held = [holdUpload(cookie), holdUpload(cookie)];
    await eventually(async () => (await uploadsInFlight()) === 2);

    const { error, response } = await client.upload('uploadProfileImage', { file: file(image) });

    expect(response.status).toBe(503);
    expect(error?.code).toBe('system:overloaded');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(held.map((upload) => upload.answered)).toEqual([false, false]);

    for (const upload of held) upload.req.destroy();
    await eventually(async () => {
      const { response } = await client.upload('uploadProfileImage', { file: file(image) });
      return response.status === 201;
    });
  });
});

describe('uploads whose clients leave', () => {
  let gated: TestApp;
  beforeAll(async () => {
    gated = await startTestApp({ http: { maxConcurrentUploads: 2 } });
  });
  afterAll(async () => {
    await gated.close();
  });

  const gauge = async (name: string) => {
    const metric = await gated.built.metricsRegistry.getSingleMetric(name)?.get();
    return metric?.values[0]?.value ?? 0;
  };

  /** Sends a whole banner upload and leaves soon after its last byte, not waiting to be answered. */
  function sendAndLeave(cookie: string, image: Buffer): Promise<void> {
    const boundary = 'leaving';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n`,
      ),
      image,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return new Promise((resolve) => {
      const req = request(`${gated.baseUrl}/v0/user/me/banner-image`, {
        method: 'POST',
        headers: {
          cookie,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(body.length),
        },
      });
      req.on('error', () => undefined);
      // Refused at the gate (503) while earlier uploads hold every place: nothing to read.
      req.on('response', (res) => res.resume());
      req.end(body, () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50),
      );
    });
  }

  it('When clients send whole uploads and leave before the answer, again and again, then the images held never pass the upload limit and all are let go', async () => {
    const { cookie } = await createSignedInUser(gated.deps, gated.baseUrl);
    const photo = await jpeg(1600, 1200);
    expect(photo.length).toBeLessThan(imageKinds.banner.maxBytes);
    let peakImages = 0;
    let peakUploads = 0;
    const sampler = setInterval(() => {
      void Promise.all([gauge('image_processing_in_flight'), gauge('http_uploads_in_flight')]).then(
        ([images, uploads]) => {
          peakImages = Math.max(peakImages, images);
          peakUploads = Math.max(peakUploads, uploads);
        },
      );
    }, 1);

    try {
      for (let round = 0; round < 12; round += 1) await sendAndLeave(cookie, photo);
      await eventually(
        async () =>
          (await gauge('image_processing_in_flight')) === 0 &&
          (await gauge('http_uploads_in_flight')) === 0,
        20_000,
      );
    } finally {
      clearInterval(sampler);
    }

    // Freed when the client left, a place would let the next upload in while the last one's
    // bytes still waited for a processing slot: twelve rounds would pile up far more than two.
    expect(peakImages).toBeGreaterThan(0);
    expect(peakImages).toBeLessThanOrEqual(2);
    expect(peakUploads).toBeLessThanOrEqual(2);
  });
});

describe('decompression bombs', () => {
  it.each([10_000, 30_000])(
    'When a PNG of a few kilobytes declares a %i² canvas, then 400 file:invalid_image without decoding it',
    async (side) => {
      const { client } = await signedInUploader(app);
      const bomb = pngBomb(side);
      expect(bomb.length).toBeLessThan(4 * 1024);

      const { error, response } = await client.upload('uploadBannerImage', { file: file(bomb) });

      expect(response.status).toBe(400);
      expect(error).toMatchObject({ code: 'file:invalid_image' });
      // Only the check of the header's declared size says this, and it comes before any
      // decoding: a refusal from the decoder (out of memory, libvips' own limit) words it
      // otherwise. So the canvas was never allocated.
      expect(error?.details).toContain(`declares ${side * side} pixels`);
    },
  );

  it('When a GIF of a few hundred bytes has frames that together pass the pixel limit, then 400 file:invalid_image without decoding them', async () => {
    const { client } = await signedInUploader(app);
    // 13 frames of 2000×2000: 4 MP each, far inside the limit alone, 52 MP together.
    const bomb = gifFrameBomb(2000, 13);
    expect(bomb.length).toBeLessThan(1024);
    expect(2000 * 2000).toBeLessThan(MAX_INPUT_PIXELS);

    const { error, response } = await client.upload('uploadBannerImage', { file: file(bomb) });

    expect(response.status).toBe(400);
    expect(error).toMatchObject({ code: 'file:invalid_image' });
    expect(error?.details).toContain(`declares ${13 * 2000 * 2000} pixels`);
    expect(error?.details).toContain('all frames together');
  });
});

describe('the event loop during image work', () => {
  it('When large photos are processed, then the event loop keeps turning: its worst delay is a small part of the work', async () => {
    const { client } = await signedInUploader(app);
    const photos = await Promise.all([1, 2, 3].map(() => jpeg(3000, 2000)));
    const delay = monitorEventLoopDelay({ resolution: 5 });

    delay.enable();
    const started = performance.now();
    const answers = await Promise.all(
      photos.map((photo) => client.upload('uploadBannerImage', { file: file(photo) })),
    );
    const elapsed = performance.now() - started;
    delay.disable();

    expect(answers.map((answer) => answer.response.status)).toEqual([201, 201, 201]);
    // Decoding, resizing and encoding three 6 MP photos takes hundreds of milliseconds; on the
    // event loop, that would be its worst delay. Off it, the loop only waits on short tasks.
    const worstMs = delay.max / 1e6;
    expect(worstMs).toBeLessThan(elapsed / 4);
  });
});
