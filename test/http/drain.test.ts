import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnectionDrain, type ConnectionDrain } from '../../src/http/drain.ts';

// Far longer than any drain here: a socket left to the keep-alive timeout shows as a timeout.
const KEEP_ALIVE_MS = 60_000;
const DRAIN_BOUND_MS = 10_000;

let server: Server;
let drain: ConnectionDrain;
const agent = new Agent({ keepAlive: true });

afterEach(() => {
  server.closeAllConnections();
  agent.destroy();
});

/** `/answer` answers after 300 ms; `/stream` sends its head at once and ends 300 ms later. */
async function listen(): Promise<string> {
  server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, (req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
      setTimeout(() => res.end('b'), 300);
    } else {
      setTimeout(() => res.end('ok'), 300);
    }
  });
  drain = createConnectionDrain(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function request(url: string): Promise<{ response: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () => resolve({ response, body }));
    }).once('error', reject);
  });
}

/** Closes the server and drains it; settles with whether it closed within the bound. */
function closeAndDrain(): Promise<boolean> {
  const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
  drain.start();
  const bound = new Promise<boolean>((resolve) => setTimeout(resolve, DRAIN_BOUND_MS, false));
  return Promise.race([closed, bound]);
}

describe('draining the server on shutdown', () => {
  it('When a kept-alive request is in flight as the drain starts, then it is answered in full with Connection: close and the server closes without waiting out the keep-alive timeout', async () => {
    const baseUrl = await listen();
    await request(`${baseUrl}/answer`);
    const inFlight = request(`${baseUrl}/answer`);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const closedInTime = closeAndDrain();
    const { response, body } = await inFlight;
    expect(response.statusCode).toBe(200);
    expect(body).toBe('ok');
    expect(response.headers.connection).toBe('close');
    expect(await closedInTime).toBe(true);
  });

  it('When a response had sent its head before the drain started, then its socket is closed once it ends', async () => {
    const baseUrl = await listen();
    const streaming = request(`${baseUrl}/stream`);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const closedInTime = closeAndDrain();
    const { response, body } = await streaming;
    expect(response.headers.connection).toBe('keep-alive');
    expect(body).toBe('ab');
    expect(await closedInTime).toBe(true);
  });
});
