import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/db/ids.ts';
import { recordLog } from '../action-logs/support/action-log-factory.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { clientFor } from '../support/client.ts';
import { eventually } from '../support/wait.ts';
import { subscribe } from './support/subscriber.ts';

// Far above what an ordinary request takes even on a loaded machine, so only a stream could
// outlive it: the fourth stream below stays open for five timeouts.
const TIMEOUT_MS = 1000;
const KEEP_ALIVE_MS = 250;

// One request at a time, one waiting, and a request timeout far shorter than a stream's life.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    stability: { concurrencyLimit: 1, bufferSize: 1, timeoutMs: TIMEOUT_MS },
    eventStream: { keepAliveMs: KEEP_ALIVE_MS },
  });
});
afterAll(async () => {
  await app.close();
});

/** Reads a raw stream until it has carried `count` keep-alive comments. */
async function keepAlives(url: string, count: number): Promise<number> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split(': keep-alive\n\n').length <= count) {
    const { value } = await reader.read();
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return response.status;
}

describe('event streams and the stability layer', () => {
  it('When more streams are open than the concurrency limit and its queue allow, then none is refused, none times out, and ordinary requests still get their slot', async () => {
    const resource = { resource_id: newId() };
    const start = await recordLog(app.deps, resource);
    const streams = [1, 2, 3].map(() => subscribe(app, resource, start.id));
    // Five timeouts' worth of keep-alives on a fourth stream, while the three stay open.
    const status = await keepAlives(
      `${app.baseUrl}/v0/eventstream/actions?resource_id=${resource.resource_id}`,
      (5 * TIMEOUT_MS) / KEEP_ALIVE_MS,
    );
    const { response } = await clientFor(app).GET('/v0/action-logs', {
      params: { query: resource },
    });
    const log = await recordLog(app.deps, resource);
    await eventually(() => streams.every((stream) => stream.received.length === 1));
    await Promise.all(streams.map((stream) => stream.close()));

    expect(status).toBe(200);
    expect(response.status).toBe(200);
    for (const stream of streams) expect(stream.received.map((l) => l.id)).toEqual([log.id]);
  });
});
