import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientErrors } from '../../src/http/client-errors.ts';
import { trackInFlight } from '../../src/http/in-flight.ts';
import { eventually } from '../support/wait.ts';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  if (server?.listening) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

async function listen(options: {
  maxHeaderSize?: number;
  headersTimeout?: number;
  requestTimeout?: number;
}) {
  server = createServer(
    { requestTimeout: 5000, ...options, connectionsCheckingInterval: 100 },
    // Answers once the whole body is in, as the app's body parser does.
    (req, res) => req.resume().once('end', () => res.writeHead(204).end()),
  );
  answerClientErrors(server, trackInFlight(server));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends raw bytes and collects everything until the server closes the connection. */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.once('close', () => resolve(received));
    socket.once('error', reject);
    socket.write(bytes);
  });
}

function parse(response: string) {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  return {
    statusLine: head.split('\r\n')[0],
    headers: head.toLowerCase(),
    body: JSON.parse(body) as unknown,
  };
}

describe('requests Node refuses before the app', () => {
  it('When the headers pass the size limit, then the answer is the catalogue JSON 431 and the connection is closed', async () => {
    const port = await listen({ maxHeaderSize: 1024 });
    const answer = parse(
      await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.headers).toContain('connection: close');
    expect(answer.body).toEqual({
      status: 431,
      code: 'general:header_too_large',
      details: 'The request headers are too large',
    });
  });

  it('When the headers do not arrive within the headers timeout, then the answer is the catalogue JSON 408', async () => {
    const port = await listen({ headersTimeout: 300 });
    const answer = parse(await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n'));
    expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer.body).toMatchObject({ status: 408, code: 'general:request_timeout' });
  });

  it('When a kept-alive socket has had its first request answered, then a refused second request on it still gets the catalogue JSON', async () => {
    const port = await listen({ maxHeaderSize: 1024 });
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => received.includes('\r\n\r\n'));
    expect(received.startsWith('HTTP/1.1 204 No Content')).toBe(true);
    const first = received.length;
    const closed = once(socket, 'close');
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`);
    await closed;
    expect(parse(received.slice(first)).body).toMatchObject({
      status: 431,
      code: 'general:header_too_large',
    });
  });

  it('When a body arrives slower than the request timeout, then the request the app was waiting on gets the catalogue JSON 408', async () => {
    const port = await listen({ headersTimeout: 300, requestTimeout: 400 });
    const answer = parse(
      await exchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer.body).toMatchObject({ status: 408, code: 'general:request_timeout' });
  });

  it('When a chunked body carries chunk extensions past the bound, then the answer is the catalogue JSON 413', async () => {
    const port = await listen({});
    const answer = parse(
      await exchange(
        port,
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `1;${'e'.repeat(20_000)}\r\n`,
      ),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer.body).toMatchObject({ status: 413, code: 'general:payload_too_large' });
  });

  it('When the bytes are not HTTP, then the answer is the catalogue JSON 400', async () => {
    const port = await listen({});
    const answer = parse(await exchange(port, 'NOT HTTP AT ALL\r\n\r\n'));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.body).toMatchObject({ status: 400, code: 'general:bad_request' });
  });
});
