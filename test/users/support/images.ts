import { request } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { ExpressKitClient } from '../../../client/src/index.ts';
import type { TestApp } from '../../support/app.ts';
import { signedInClient } from '../../support/client.ts';
import { createUser } from '../../support/factories.ts';

/** A noisy picture, so every call gives different bytes and the encoders have real work. */
async function pixels(width: number, height: number, seed: number): Promise<Sharp> {
  const raw = Buffer.alloc(width * height * 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < raw.length; i += 1) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    raw[i] = state & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

// Seeded apart per process, so no two test files make the same image by accident.
let seeds = process.pid * 100_000 + (Date.now() % 100_000);
const nextSeed = () => (seeds += 7919);

export async function jpeg(width: number, height: number): Promise<Buffer> {
  return (await pixels(width, height, nextSeed())).jpeg({ quality: 80 }).toBuffer();
}

export async function png(width: number, height: number): Promise<Buffer> {
  return (await pixels(width, height, nextSeed())).png().toBuffer();
}

export async function webp(width: number, height: number): Promise<Buffer> {
  return (await pixels(width, height, nextSeed())).webp().toBuffer();
}

export async function gif(width: number, height: number): Promise<Buffer> {
  return (await pixels(width, height, nextSeed())).gif().toBuffer();
}

/** An animated GIF of `frames` frames. */
export async function animatedGif(width: number, height: number, frames: number): Promise<Buffer> {
  const stills = await Promise.all(
    Array.from({ length: frames }, async () =>
      (await pixels(width, height, nextSeed())).png().toBuffer(),
    ),
  );
  return sharp(stills, { join: { animated: true } })
    .gif({ delay: stills.map(() => 100) })
    .toBuffer();
}

/** An animated WebP of `frames` frames. */
export async function animatedWebp(width: number, height: number, frames: number): Promise<Buffer> {
  const stills = await Promise.all(
    Array.from({ length: frames }, async () =>
      (await pixels(width, height, nextSeed())).png().toBuffer(),
    ),
  );
  return sharp(stills, { join: { animated: true } })
    .webp({ delay: stills.map(() => 100) })
    .toBuffer();
}

/**
 * A GIF of a few hundred bytes whose `frames` frames each declare a `side`×`side` canvas: each
 * frame alone is a modest image, all of them together a bomb. Every frame is a single pixel
 * (LZW minimum code size 2: clear, index 0, end) on the canvas the screen descriptor declares.
 * libvips reads the screen size only up to 2048 a side.
 */
export function gifFrameBomb(side: number, frames: number): Buffer {
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(side, 0);
  screen.writeUInt16LE(side, 2);
  screen[4] = 0x80; // a global colour table of two colours follows
  const colours = Buffer.from([0, 0, 0, 255, 255, 255]);
  const frame = Buffer.from([
    ...[0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00], // graphic control: 100 ms
    ...[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0], // image descriptor: 1×1 at the origin
    ...[0x02, 0x02, 0x44, 0x01, 0x00], // image data
  ]);
  return Buffer.concat([
    Buffer.from('GIF89a', 'ascii'),
    screen,
    colours,
    ...Array.from({ length: frames }, () => frame),
    Buffer.from([0x3b]),
  ]);
}

/** A JPEG carrying GPS coordinates and a camera make in its EXIF block. */
export async function jpegWithGps(width: number, height: number): Promise<Buffer> {
  return (await pixels(width, height, nextSeed()))
    .jpeg()
    .withExif({
      IFD0: { Make: 'ExpressKitCam' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 26/1' },
    })
    .toBuffer();
}

/** A JPEG stored sideways, with EXIF orientation 6 (rotate 90° clockwise to view). */
export async function jpegRotated(width: number, height: number): Promise<Buffer> {
  return (await pixels(width, height, nextSeed()))
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid PNG of a few hundred bytes whose header declares a
 * `side`×`side` canvas (8-bit grey), with a compressed stream of zero rows for the start.
 */
export function pngBomb(side: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = deflateSync(Buffer.alloc((side + 1) * 64));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', rows),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export async function signedInUploader(app: TestApp): Promise<{
  userId: string;
  client: ExpressKitClient;
}> {
  const { user, password } = await createUser(app.deps);
  return {
    userId: user.id,
    client: await signedInClient(app, { email: user.email, password: password! }),
  };
}

export const file = (bytes: Buffer, name = 'image.bin', type = 'application/octet-stream') =>
  new File([new Uint8Array(bytes)], name, { type });

/** The key a public URL of the image bucket points at. */
export function keyOf(app: TestApp, url: string): string {
  const prefix = app.deps.storage.public.publicUrl('x')!.slice(0, -1);
  if (!url.startsWith(prefix)) throw new Error(`not a public URL: ${url}`);
  return url.slice(prefix.length);
}

export interface RawAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A multipart request sent by hand, for bodies the typed client would never build. */
export function sendMultipart(
  baseUrl: string,
  path: string,
  cookie: string,
  parts: { name: string; filename?: string; type?: string; bytes: Buffer }[],
  /** Bytes left off the end of the body, to send one cut short. */
  cutBytes = 0,
): Promise<RawAnswer> {
  const boundary = 'expresskit-test-boundary';
  const body = Buffer.concat([
    ...parts.flatMap((part) => [
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"` +
          (part.filename === undefined ? '' : `; filename="${part.filename}"`) +
          `\r\n${part.type === undefined ? '' : `Content-Type: ${part.type}\r\n`}\r\n`,
      ),
      part.bytes,
      Buffer.from('\r\n'),
    ]),
    Buffer.from(`--${boundary}--\r\n`),
  ]).subarray(0, -cutBytes || undefined);
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}${path}`,
      {
        method: 'POST',
        headers: {
          cookie,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(body.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
