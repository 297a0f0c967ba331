import { once } from 'node:events';
import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trackInFlight } from '../../src/http/in-flight.ts';
import { createConnectionDrain, type ConnectionDrain } from '../../src/http/drain.ts';

// Far longer than any drain here: a socket left to the keep-alive timeout shows as a timeout.
const KEEP_ALIVE_MS = 60_000;
const DRAIN_BOUND_MS = 10_000;

let server: Server | undefined;
let drain: ConnectionDrain;
let release: () => void = () => {};
const agent = new Agent({ keepAlive: true });
const sockets: Socket[] = [];

afterEach(async () => {
  release();
  for (const socket of sockets.splice(0)) socket.destroy();
  agent.destroy();
  server?.closeAllConnections();
  if (server?.listening) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

/**
 * `/now` answers at once; `/answer` once the test calls `release()`; `/stream` sends its head
 * at once and ends on `release()`; `/hang` never answers.
 */
async function listen(): Promise<string> {
  let released!: () => void;
  const gate = new Promise<void>((resolve) => (released = resolve));
  release = released;
  server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, (req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
      void gate.then(() => res.end('b'));
    } else if (req.url === '/now') {
      res.end('now');
    } else if (req.url === '/answer') {
      void gate.then(() => res.end('ok'));
    }
  });
  drain = createConnectionDrain(server, trackInFlight(server));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
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

/** A raw connection that sends `head` (maybe nothing, maybe half a request) and waits. */
async function rawConnection(baseUrl: string, head: string): Promise<Socket> {
  const { port } = new URL(baseUrl);
  const socket = new Socket();
  sockets.push(socket);
  socket.connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  if (head) socket.write(head);
  return socket;
}

/** Stops accepting and drains; settles with whether the server closed within the bound. */
async function closeAndDrain(
  deadlineMs = DRAIN_BOUND_MS,
): Promise<{ closed: boolean; cut: number }> {
  const closed = new Promise<boolean>((resolve) => server!.close(() => resolve(true)));
  const cut = await drain.drain(deadlineMs);
  const bound = new Promise<boolean>((resolve) => setTimeout(resolve, DRAIN_BOUND_MS, false));
  return { closed: await Promise.race([closed, bound]), cut };
}

describe('draining the server on shutdown', () => {
  it('When a kept-alive request is in flight as the drain starts, then it is answered in full with Connection: close and the server closes without waiting out the keep-alive timeout', async () => {
    const baseUrl = await listen();
    await request(`${baseUrl}/now`);
    const arrived = once(server!, 'request');
    const inFlight = request(`${baseUrl}/answer`);
    await arrived;

    const drained = closeAndDrain();
    release();
    const { response, body } = await inFlight;
    expect(response.statusCode).toBe(200);
    expect(body).toBe('ok');
    expect(response.headers.connection).toBe('close');
    expect(await drained).toEqual({ closed: true, cut: 0 });
  });

  it('When a response had sent its head before the drain started, then its socket is closed once it ends', async () => {
    const baseUrl = await listen();
    const streaming = new Promise<IncomingMessage>((resolve, reject) => {
      get(`${baseUrl}/stream`, { agent }, resolve).once('error', reject);
    });
    const response = await streaming;
    expect(response.headers.connection).toBe('keep-alive');

    const drained = closeAndDrain();
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));
    release();
    await once(response, 'end');
    expect(body).toBe('ab');
    expect(await drained).toEqual({ closed: true, cut: 0 });
  });

  it('When connections carry no request (opened ahead of use, or a head still trickling in), then they are closed once the requests in flight are answered', async () => {
    const baseUrl = await listen();
    const unused = await rawConnection(baseUrl, '');
    const trickling = await rawConnection(baseUrl, 'GET /answer HTTP/1.1\r\nHost: x\r\n');
    const arrived = once(server!, 'request');
    const inFlight = request(`${baseUrl}/answer`);
    await arrived;

    const drained = closeAndDrain();
    release();
    await inFlight;
    await Promise.all([once(unused, 'close'), once(trickling, 'close')]);
    expect(await drained).toEqual({ closed: true, cut: 0 });
  });

  it('When a request is still running at the deadline, then it is cut, counted, and the server closes', async () => {
    const baseUrl = await listen();
    const arrived = once(server!, 'request');
    const hanging = request(`${baseUrl}/hang`).then(
      () => 'answered',
      () => 'cut',
    );
    await arrived;

    expect(await closeAndDrain(200)).toEqual({ closed: true, cut: 1 });
    expect(await hanging).toBe('cut');
  });
});
