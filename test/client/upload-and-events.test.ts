import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamError } from '../../client/src/index.ts';
import type { components } from '../../client/src/index.ts';
import { clientFor } from '../support/client.ts';

/**
 * The helpers meet a small HTTP server here that answers as the contract documents the
 * operations: multipart in, ImageUrl out; SSE frames of ActionLog JSON with ids, comments and
 * `retry:`, replay after `Last-Event-ID`. It also sends what the app never does (split CRLFs,
 * unknown event names, a stream that just ends), so the client's parsing is pinned down here;
 * the app's own stream is tested through the same helper in test/eventstream.
 */
type ActionLog = components['schemas']['ActionLog'];

const MAX_IMAGE_BYTES = 64;

function actionLog(n: number): ActionLog {
  return {
    id: `0194a1c0-5e70-7a8b-9c0d-00000000000${n}`,
    action: 'auth:login',
    actor_id: '0194a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b',
    actor_ip: '203.0.113.7',
    resource_type: 'user',
    resource_id: '0194a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b',
    summary: `Login ${n}`,
    metadata: {},
    created_at: '2025-01-15T10:00:00Z',
  };
}

const LOGS = [1, 2, 3, 4].map(actionLog);

interface StreamRequest {
  lastEventId: string | undefined;
  query: URLSearchParams;
  accept: string | undefined;
  closed: Promise<void>;
}

let server: Server;
let baseUrl: string;
const streamRequests: StreamRequest[] = [];

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function frame(log: ActionLog): string {
  return `event: action_log\nid: ${log.id}\ndata: ${JSON.stringify(log)}\n\n`;
}

async function upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const request = new Request(`http://local${req.url}`, {
    method: 'POST',
    headers: req.headers as Record<string, string>,
    body: Readable.toWeb(req) as ReadableStream,
    duplex: 'half',
  });
  const file = (await request.formData()).get('file');
  if (!(file instanceof Blob)) {
    return sendJson(res, 400, { status: 400, code: 'general:validation_error', details: 'file' });
  }
  const bytes = Buffer.from(await file.arrayBuffer());
  if (bytes.length > MAX_IMAGE_BYTES) {
    return sendJson(res, 413, { status: 413, code: 'file:too_large', details: 'too large' });
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  sendJson(res, 201, { image_url: `https://assets.example.com/user-images/${digest}.webp` });
}

/** Each write after a pause, so the client reads them as separate chunks. */
async function writeApart(res: ServerResponse, chunks: string[]): Promise<void> {
  for (const chunk of chunks) {
    res.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function firstConnection(res: ServerResponse): Promise<void> {
  const [first, second] = [frame(LOGS[0]!), frame(LOGS[1]!)];
  await writeApart(res, [
    'retry: 20\n\n: keep-alive\n\n',
    // A CRLF split across two chunks.
    'event: action_log\r',
    `\n${first.slice('event: action_log\n'.length)}`,
    // An event name the contract does not list, then CRLF line ends throughout.
    `event: something_new\ndata: {}\n\n${second.replaceAll('\n', '\r\n')}`,
  ]);
  res.end();
}

/**
 * The first connection sends two entries and ends, as a server does to a slow client; a
 * reconnect gets what came after its Last-Event-ID, then stays open.
 */
function stream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const lastEventId = req.headers['last-event-id'] as string | undefined;
  streamRequests.push({
    lastEventId,
    query,
    accept: req.headers.accept,
    closed: new Promise((resolve) => res.once('close', () => resolve())),
  });
  if (query.get('resource_type') === 'bogus') {
    return sendJson(res, 400, {
      status: 400,
      code: 'general:validation_error',
      details: 'resource_type',
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.flushHeaders();
  if (lastEventId === undefined) {
    void firstConnection(res);
    return;
  }
  const after = LOGS.findIndex((log) => log.id === lastEventId) + 1;
  for (const log of LOGS.slice(after)) res.write(frame(log));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method === 'POST' && url.pathname === '/v0/user/me/profile-image') {
      upload(req, res).catch((error: unknown) => res.destroy(error as Error));
    } else if (req.method === 'GET' && url.pathname === '/v0/eventstream/actions') {
      stream(req, res, url.searchParams);
    } else {
      sendJson(res, 404, { status: 404, code: 'general:not_found', details: 'no route' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('client.upload', () => {
  it('When a Blob is uploaded, then it travels as the multipart file field and the typed reply comes back', async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const api = clientFor({ baseUrl });

    const { data, error, response } = await api.upload('uploadProfileImage', {
      file: new File([bytes], 'me.png', { type: 'image/png' }),
    });

    expect(error).toBeUndefined();
    expect(response.status).toBe(201);
    const digest = createHash('sha256').update(bytes).digest('hex');
    expect(data?.image_url).toBe(`https://assets.example.com/user-images/${digest}.webp`);
  });

  it('When the server refuses the file, then the error carries the typed code and status', async () => {
    const api = clientFor({ baseUrl });

    const { data, error } = await api.upload('uploadProfileImage', {
      file: new Blob([new Uint8Array(MAX_IMAGE_BYTES + 1)]),
    });

    expect(data).toBeUndefined();
    expect(error).toEqual({ status: 413, code: 'file:too_large', details: 'too large' });
  });
});

describe('client.events', () => {
  it('When the stream ends, then the client reconnects with Last-Event-ID and the entries go on in order without repeats', async () => {
    streamRequests.length = 0;
    const api = clientFor({ baseUrl });
    const received: { event: string; id: string | undefined; data: ActionLog }[] = [];

    for await (const event of api.events('streamActions', {
      params: { query: { action: 'auth:login', resource_type: 'user' } },
      // A lost entry would leave the loop waiting; the assertions then show what arrived.
      signal: AbortSignal.timeout(5000),
    })) {
      received.push(event);
      if (received.length === LOGS.length) break;
    }

    expect(received).toEqual(LOGS.map((log) => ({ event: 'action_log', id: log.id, data: log })));
    expect(streamRequests.map((r) => r.lastEventId)).toEqual([undefined, LOGS[1]!.id]);
    for (const request of streamRequests) {
      expect(request.accept).toBe('text/event-stream');
      expect(Object.fromEntries(request.query)).toEqual({
        action: 'auth:login',
        resource_type: 'user',
      });
    }
    // Leaving the loop closed the open connection.
    await streamRequests[1]!.closed;
  });

  it('When resuming from a known id, then the first request sends it and only later entries arrive', async () => {
    streamRequests.length = 0;
    const controller = new AbortController();
    const api = clientFor({ baseUrl });
    const ids: (string | undefined)[] = [];

    for await (const event of api.events('streamActions', {
      lastEventId: LOGS[2]!.id,
      signal: controller.signal,
    })) {
      ids.push(event.id);
      controller.abort();
    }

    expect(ids).toEqual([LOGS[3]!.id]);
    expect(streamRequests.map((r) => r.lastEventId)).toEqual([LOGS[2]!.id]);
  });

  it('When the server refuses the stream, then an EventStreamError carries the typed error and nothing is retried', async () => {
    streamRequests.length = 0;
    const api = clientFor({ baseUrl });
    const events = api.events('streamActions', {
      params: { query: { resource_type: 'bogus' as 'user' } },
    });

    const failure: unknown = await events.next().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(EventStreamError);
    const { error, response } = failure as EventStreamError<'streamActions'>;
    expect(response.status).toBe(400);
    expect(error).toEqual({
      status: 400,
      code: 'general:validation_error',
      details: 'resource_type',
    });
    expect(streamRequests).toHaveLength(1);
  });
});
