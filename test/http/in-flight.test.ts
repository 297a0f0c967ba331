import { createServer, get, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trackInFlight, type InFlightResponses } from '../../src/http/in-flight.ts';
import { eventually } from '../support/wait.ts';

const SETTLE_BOUND_MS = 5000;

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  if (server?.listening) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

/** A server whose requests wait until the test answers them, by their path. */
async function listen() {
  const waiting = new Map<string, ServerResponse>();
  server = createServer((req, res) => void waiting.set(req.url!, res));
  const tracked = trackInFlight(server);
  const closed: string[] = [];
  tracked.onClose((res) => closed.push(res.req.url!));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const send = (path: string) => {
    const request = get(`${base}${path}`, (response) => response.resume());
    request.once('error', () => {});
    return request;
  };
  return { tracked, waiting, closed, send };
}

/** The open responses' paths; a walk shorter than the count fails here. */
function paths(tracked: InFlightResponses) {
  const open = [...tracked.responses].map((res) => res.req.url);
  expect(open).toHaveLength(tracked.responses.size);
  return open;
}

describe('the responses in flight', () => {
  it('When requests arrive and are answered out of order, then the open ones are listed oldest first and each leaves once closed', async () => {
    const { tracked, waiting, closed, send } = await listen();
    for (const path of ['/a', '/b', '/c']) {
      send(path);
      await eventually(() => waiting.has(path), SETTLE_BOUND_MS);
    }
    expect(paths(tracked)).toEqual(['/a', '/b', '/c']);
    expect(tracked.responses.size).toBe(3);

    waiting.get('/b')!.end('b');
    await eventually(() => closed.includes('/b'), SETTLE_BOUND_MS);
    expect(paths(tracked)).toEqual(['/a', '/c']);

    waiting.get('/a')!.end('a');
    waiting.get('/c')!.end('c');
    await eventually(() => closed.length === 3, SETTLE_BOUND_MS);
    expect(closed).toEqual(['/b', '/a', '/c']);
    expect(tracked.responses.size).toBe(0);
    expect(paths(tracked)).toEqual([]);
  });

  it('When a client leaves before its answer, then its response leaves the list once, and ending it later changes nothing', async () => {
    const { tracked, waiting, closed, send } = await listen();
    const left = send('/left');
    send('/stays');
    await eventually(() => waiting.has('/left') && waiting.has('/stays'), SETTLE_BOUND_MS);

    left.destroy();
    await eventually(() => closed.includes('/left'), SETTLE_BOUND_MS);
    waiting.get('/left')!.end('too late');
    expect(closed).toEqual(['/left']);
    expect(paths(tracked)).toEqual(['/stays']);
    expect(tracked.responses.size).toBe(1);
  });

  it('When a response reports its close a second time, then the list and its count are left as they were', async () => {
    const { tracked, waiting, closed, send } = await listen();
    for (const path of ['/a', '/b', '/c']) {
      send(path);
      await eventually(() => waiting.has(path), SETTLE_BOUND_MS);
    }
    waiting.get('/b')!.end('b');
    await eventually(() => closed.includes('/b'), SETTLE_BOUND_MS);

    waiting.get('/b')!.emit('close');
    expect(closed).toEqual(['/b']);
    expect(paths(tracked)).toEqual(['/a', '/c']);
    expect(tracked.responses.size).toBe(2);
    // The neighbours it had still leave cleanly.
    waiting.get('/a')!.end('a');
    waiting.get('/c')!.end('c');
    await eventually(() => closed.length === 3, SETTLE_BOUND_MS);
    expect(paths(tracked)).toEqual([]);
  });

  it('When two trackers watch one server, then each keeps its own list', async () => {
    const { tracked, waiting, send } = await listen();
    const second = trackInFlight(server!);
    send('/a');
    send('/b');
    await eventually(() => waiting.has('/a') && waiting.has('/b'), SETTLE_BOUND_MS);
    waiting.get('/a')!.end('a');
    await eventually(() => tracked.responses.size === 1, SETTLE_BOUND_MS);
    await eventually(() => second.responses.size === 1, SETTLE_BOUND_MS);
    expect(paths(tracked)).toEqual(['/b']);
    expect(paths(second)).toEqual(['/b']);
  });

  it('When responses close while a caller goes through the list, then the caller still sees every response open when it began', async () => {
    const { tracked, waiting, closed, send } = await listen();
    for (const path of ['/a', '/b', '/c']) {
      send(path);
      await eventually(() => waiting.has(path), SETTLE_BOUND_MS);
    }
    const seen: string[] = [];
    for (const res of tracked.responses) {
      seen.push(res.req.url!);
      if (seen.length > 1) continue;
      // Every response, the ones still ahead included, closes while the caller waits.
      for (const other of waiting.values()) other.destroy();
      await eventually(() => closed.length === 3, SETTLE_BOUND_MS);
    }
    expect(seen).toEqual(['/a', '/b', '/c']);
    expect(tracked.responses.size).toBe(0);
  });

  it('When the server sees a request, then the listeners given to onRequest run before the app', async () => {
    const order: string[] = [];
    server = createServer((_req, res) => {
      order.push('app');
      res.end();
    });
    trackInFlight(server).onRequest(() => order.push('tracker'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve, reject) =>
      get(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, (response) =>
        response.resume().once('end', resolve),
      ).once('error', reject),
    );
    expect(order).toEqual(['tracker', 'app']);
  });
});
