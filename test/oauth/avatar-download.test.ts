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
      case '/redirect-to-avatar':
        res.writeHead(302, { location: '/avatar' });
        return res.end();
      case '/redirect-to-metadata':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        return res.end();
      case '/redirect-loop':
        res.writeHead(302, { location: '/redirect-loop' });
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

/** The tests' explicit opt-in: the avatar host is this process, on 127.0.0.1 over http. */
const policy = { hosts: ['127.0.0.1', 'localhost'], allowLoopback: true };
const options = { timeoutMs: 5000, maxBytes: 4096, policy };
const port = () => new URL(base).port;

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

  it('When the host redirects within the policy, then the image at the end comes back', async () => {
    expect(await downloadAvatar(`${base}/redirect-to-avatar`, options)).toEqual({
      kind: 'image',
      bytes: image,
    });
  });

  it('When the URL is http and loopback is not opted into, then it is refused for good', async () => {
    const result = await downloadAvatar(`${base}/avatar`, {
      ...options,
      policy: { ...policy, allowLoopback: false },
    });
    expect(result).toEqual({ kind: 'unavailable', reason: 'http: is not allowed' });
  });

  it('When the host is not on the allow-list, then it is refused for good', async () => {
    const result = await downloadAvatar(`${base}/avatar`, {
      ...options,
      policy: {
        hosts: ['avatars.githubusercontent.com', '*.googleusercontent.com'],
        allowLoopback: true,
      },
    });
    expect(result).toEqual({
      kind: 'unavailable',
      reason: '127.0.0.1 is not an allowed avatar host',
    });
  });

  it('When a redirect points at the metadata address, then it is refused without being followed', async () => {
    const result = await downloadAvatar(`${base}/redirect-to-metadata`, {
      ...options,
      // Even listed as a host, the address is refused.
      policy: { ...policy, hosts: [...policy.hosts, '169.254.169.254'] },
    });
    expect(result).toEqual({
      kind: 'unavailable',
      reason: '169.254.169.254 is not a public address',
    });
  });

  it('When redirects go on past the limit, then the avatar is unavailable', async () => {
    expect(await downloadAvatar(`${base}/redirect-loop`, options)).toEqual({
      kind: 'unavailable',
      reason: 'more than 3 redirects',
    });
  });

  it('When an allowed host name resolves to loopback and loopback is not opted into, then it is refused at the lookup', async () => {
    const url = `https://localhost:${port()}/avatar`;
    const refused = await downloadAvatar(url, {
      ...options,
      policy: { hosts: ['localhost'], allowLoopback: false },
    });
    expect(refused).toMatchObject({ kind: 'unavailable' });
    expect((refused as { reason: string }).reason).toMatch(
      /^(127\.0\.0\.1|::1) is a loopback address$/,
    );
    // The same name over the lookup, opted in, is fetched: the refusal was the address check.
    expect(await downloadAvatar(`http://localhost:${port()}/avatar`, options)).toEqual({
      kind: 'image',
      bytes: image,
    });
  });
});
