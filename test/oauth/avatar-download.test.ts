import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadAvatar } from '../../src/modules/oauth/oauth.avatar.ts';

let server: Server;
let base: string;
const image = Buffer.from('GIF89a-not-really-but-bytes');

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/avatar':
        res.writeHead(200, { 'content-type': 'image/gif', 'content-length': image.length });
        return res.end(image);
      case '/missing':
        res.writeHead(404);
        return res.end();
      case '/broken':
        res.writeHead(503);
        return res.end();
      case '/declared-large':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 5000 });
        return res.end(Buffer.alloc(5000));
      case '/streamed-large':
        // No Content-Length: chunked, and larger than the limit.
        res.writeHead(200, { 'content-type': 'image/png' });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
        return res.end();
      default:
        // /hang: never answers.
        return undefined;
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const options = { timeoutMs: 5000, maxBytes: 4096 };

describe('downloading a provider avatar', () => {
  it('When the host serves the image, then its bytes come back', async () => {
    expect(await downloadAvatar(`${base}/avatar`, options)).toEqual({
      kind: 'image',
      bytes: image,
    });
  });

  it('When the host answers 404, then the avatar is unavailable for good', async () => {
    expect(await downloadAvatar(`${base}/missing`, options)).toEqual({
      kind: 'unavailable',
      reason: 'HTTP 404',
    });
  });

  it('When the declared or the streamed size passes the limit, then the avatar is unavailable', async () => {
    for (const path of ['/declared-large', '/streamed-large']) {
      expect((await downloadAvatar(`${base}${path}`, options)).kind).toBe('unavailable');
    }
  });

  it('When the host fails with a 5xx, then the download throws so the job is retried', async () => {
    await expect(downloadAvatar(`${base}/broken`, options)).rejects.toThrow('HTTP 503');
  });

  it('When the host never answers, then the download throws once the timeout passes', async () => {
    await expect(
      downloadAvatar(`${base}/hang`, { ...options, timeoutMs: 200 }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
